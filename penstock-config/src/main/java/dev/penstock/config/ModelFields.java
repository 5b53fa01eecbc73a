package dev.penstock.config;

import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Fields of {@code models:} that the gateway and the library read alike, with their messages in one
 * place. What each does with a model or deployment that has problems differs (the gateway keeps
 * reading to report more; the library stops at some), so the walk over the section stays with each.
 */
public final class ModelFields {
  private ModelFields() {}

  /**
   * A model's {@code deployments:}: its items, or null (and a problem at the list, or at the
   * model's {@code key} when it has none).
   */
  public static @Nullable List<Node> deployments(
      YamlReader reader, Map<String, Node> model, Node key, String path) {
    return reader.nonEmptyList(
        model.get("deployments"),
        key,
        path + ".deployments",
        "a list of at least one deployment is required");
  }

  /** Whether a deployment's {@code provider:} is azure; openai when absent or invalid. */
  public static boolean azure(YamlReader reader, Map<String, Node> deployment, String prefix) {
    return "azure"
        .equals(
            reader.oneOf(
                deployment, "provider", prefix, "must be openai or azure", "openai", "azure"));
  }

  /** Whether a deployment's {@code tpm_charge:} is usage; estimate when absent or invalid. */
  public static boolean chargesUsage(
      YamlReader reader, Map<String, Node> deployment, String prefix) {
    return "usage"
        .equals(
            reader.oneOf(
                deployment,
                "tpm_charge",
                prefix,
                "must be estimate or usage",
                "estimate",
                "usage"));
  }
}
