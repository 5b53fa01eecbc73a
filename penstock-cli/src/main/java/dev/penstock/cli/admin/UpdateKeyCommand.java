package dev.penstock.cli.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code penstock keys update ID}: changes what the options name and nothing else (a {@code PATCH}
 * with exactly those fields), effective at once; prints the key as it now is.
 */
@Command(
    name = "update",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Changes a virtual key's name, models, limits, budgets, expiry or metadata, effective at"
          + " once.",
      "Only the fields named change. --model and --metadata replace the whole list or map: give"
          + " every model, every pair; --clear-models allows every model again."
    })
final class UpdateKeyCommand implements Callable<Integer> {
  @Parameters(paramLabel = "ID", description = "The key's id (key_…), as keys list shows it.")
  private String id;

  @Option(names = "--name", paramLabel = "NAME", description = "A new name.")
  private @Nullable String name;

  @Mixin private KeyOptions policy;

  @Option(names = "--clear-models", description = "Allow every model (an empty models list).")
  private boolean clearModels;

  @Option(names = "--clear-metadata", description = "Remove every metadata pair.")
  private boolean clearMetadata;

  @Option(names = "--json", description = "Print the gateway's JSON answer as it is.")
  private boolean json;

  @Mixin private AdminOptions admin;

  @Override
  public Integer call() {
    ObjectNode body = body();
    AdminClient.Answer answer;
    try (AdminClient client = admin.client()) {
      answer = client.patch(KeysCommand.path(id), body);
    }
    if (!json) {
      admin.out().println("Updated; the key now reads:");
    }
    KeysCommand.print(answer, json, admin);
    return 0;
  }

  private ObjectNode body() {
    if (clearModels && policy.hasModels()) {
      throw admin.usageError("--clear-models and --model are exclusive");
    }
    if (clearMetadata && policy.hasMetadata()) {
      throw admin.usageError("--clear-metadata and --metadata are exclusive");
    }
    if (name == null && policy.isEmpty() && !clearModels && !clearMetadata) {
      throw admin.usageError("nothing to change: give at least one option (see --help)");
    }
    ObjectNode body = AdminClient.JSON.createObjectNode();
    if (name != null) {
      if (name.isBlank()) {
        throw admin.usageError("--name must not be blank");
      }
      body.put("name", name);
    }
    policy.putInto(body, admin.now());
    if (clearModels) {
      body.putArray("models");
    }
    if (clearMetadata) {
      body.putObject("metadata");
    }
    return body;
  }
}
