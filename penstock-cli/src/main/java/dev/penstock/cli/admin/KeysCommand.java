package dev.penstock.cli.admin;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code penstock keys}: virtual keys through the gateway's admin API — create (the key is shown
 * once), list, show, update, revoke. Without a subcommand it is a usage error (exit 2).
 */
@Command(
    name = "keys",
    mixinStandardHelpOptions = true,
    description = {
      "Creates, lists, shows, updates and revokes virtual keys through the gateway's admin API"
          + " (see docs/tenants-cli.md).",
      "The gateway is at --url (default $PENSTOCK_URL, else http://127.0.0.1:8080); the admin key"
          + " is --admin-key or $PENSTOCK_ADMIN_KEY."
    },
    subcommands = {
      CreateKeyCommand.class,
      KeysCommand.ListKeys.class,
      KeysCommand.ShowKey.class,
      UpdateKeyCommand.class,
      KeysCommand.RevokeKey.class
    })
public final class KeysCommand {
  static final String KEYS = "/admin/keys";

  static String path(String id) {
    return KEYS + "/" + AdminClient.encode(id);
  }

  /** Prints the answer as received ({@code --json}), or the key it describes. */
  static void print(AdminClient.Answer answer, boolean json, AdminOptions admin) {
    PrintWriter out = admin.out();
    if (json) {
      out.println(answer.body().strip());
      out.flush();
    } else {
      KeyPrinter.details(KeyRecord.of(answer.json()), admin.now(), out);
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      sortOptions = false,
      description =
          "Lists every virtual key with its limits, budgets, spend today and this month, and"
              + " state (live, revoked or expired).")
  static final class ListKeys implements Callable<Integer> {
    @Mixin private AdminOptions admin;

    @Option(names = "--json", description = "Print the gateway's JSON answer as it is.")
    private boolean json;

    @Override
    public Integer call() {
      AdminClient.Answer answer;
      try (AdminClient client = admin.client()) {
        answer = client.get(KEYS);
      }
      if (json) {
        admin.out().println(answer.body().strip());
        admin.out().flush();
        return 0;
      }
      List<KeyRecord> keys = new ArrayList<>();
      answer.json().path("data").forEach(key -> keys.add(KeyRecord.of(key)));
      KeyPrinter.table(keys, admin.now(), admin.out());
      return 0;
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      sortOptions = false,
      description = "Shows one virtual key: every setting, its spend and its state.")
  static final class ShowKey implements Callable<Integer> {
    @Mixin private AdminOptions admin;

    @Parameters(paramLabel = "ID", description = "The key's id (key_…), as keys list shows it.")
    private String id;

    @Option(names = "--json", description = "Print the gateway's JSON answer as it is.")
    private boolean json;

    @Override
    public Integer call() {
      try (AdminClient client = admin.client()) {
        print(client.get(path(id)), json, admin);
      }
      return 0;
    }
  }

  @Command(
      name = "revoke",
      mixinStandardHelpOptions = true,
      sortOptions = false,
      description =
          "Revokes a virtual key: requests with it are refused from now on. It stays listed, as"
              + " revoked, with its usage.")
  static final class RevokeKey implements Callable<Integer> {
    @Mixin private AdminOptions admin;

    @Parameters(paramLabel = "ID", description = "The key's id (key_…), as keys list shows it.")
    private String id;

    @Option(names = "--json", description = "Print the gateway's JSON answer as it is.")
    private boolean json;

    @Override
    public Integer call() {
      AdminClient.Answer answer;
      try (AdminClient client = admin.client()) {
        answer = client.delete(path(id));
      }
      if (json) {
        print(answer, true, admin);
      } else {
        KeyRecord key = KeyRecord.of(answer.json());
        admin
            .out()
            .printf(
                "Revoked %s (%s) at %s: requests with it are refused from now on.%n",
                key.id(), key.name(), key.revokedAt() == null ? admin.now() : key.revokedAt());
        admin.out().flush();
      }
      return 0;
    }
  }
}
