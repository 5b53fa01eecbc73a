package dev.penstock.cli.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code penstock keys create}: creates a virtual key and prints it — the only time anyone sees it,
 * since the gateway keeps a hash — with its id; {@code --json} prints the answer as received.
 */
@Command(
    name = "create",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Creates a virtual key and prints it once: the gateway keeps only a hash.",
      "Options not given mean no restriction: every model, no RPM/TPM limit, no budget, no expiry."
    })
final class CreateKeyCommand implements Callable<Integer> {
  @Option(
      names = "--name",
      required = true,
      paramLabel = "NAME",
      description = "What to call the key (reports and metrics show it).")
  private String name;

  @Mixin private KeyOptions policy;

  @Option(names = "--json", description = "Print the gateway's JSON answer as it is.")
  private boolean json;

  @Mixin private AdminOptions admin;

  @Override
  public Integer call() {
    if (name.isBlank()) {
      throw admin.usageError("--name must not be blank");
    }
    ObjectNode body = AdminClient.JSON.createObjectNode().put("name", name);
    policy.putInto(body, admin.now());
    AdminClient.Answer answer;
    try (AdminClient client = admin.client()) {
      answer = client.post(KeysCommand.KEYS, body);
    }
    PrintWriter out = admin.out();
    if (json) {
      out.println(answer.body().strip());
    } else {
      String key = Formats.text(answer.json(), "key");
      if (key == null) {
        throw new AdminException("the gateway's answer holds no key: is it a Penstock gateway?");
      }
      KeyRecord created = KeyRecord.of(answer.json());
      out.printf("Created virtual key %s (%s):%n%n    %s%n%n", created.id(), created.name(), key);
      out.println(
          "This is the only time the key is shown: it will not be shown again. Store it now.");
    }
    out.flush();
    return 0;
  }
}
