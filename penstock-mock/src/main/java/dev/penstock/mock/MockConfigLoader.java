package dev.penstock.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a simulator YAML file into a {@link MockConfig}. Unknown fields are errors, and every error
 * names the field path ({@code keys[2].rpm}), so a typo never silently means a default.
 *
 * <pre>
 * port: 9000
 * latency: {ttft_ms: 300, ms_per_token: 10, jitter: 0.1}
 * faults: {"500": 0.01, reset: 0.005}      # global rates
 * stream_json_style: spaced               # compact (OpenAI's, the default) or spaced
 * defaults: {rpm: 200, tpm: 40000}         # for keys that set no limits
 * keys:
 *   - {name: org-a, key: sk-a, rpm: 200, tpm: 40000}
 *   - {name: flaky, key: sk-b, faults: {"503": 0.3}, port: 9002, dead: false}
 * </pre>
 */
public final class MockConfigLoader {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Set<String> TOP =
      Set.of(
          "host",
          "port",
          "seed",
          "output_tokens",
          "default_max_tokens",
          "embedding_dimensions",
          "hang_ms",
          "stream_json_style",
          "models",
          "latency",
          "faults",
          "defaults",
          "keys");
  private static final Set<String> KEY =
      Set.of("name", "key", "rpm", "tpm", "port", "dead", "faults");

  private MockConfigLoader() {}

  /** Thrown for an invalid file; the message names the field path. */
  public static final class InvalidConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    InvalidConfigException(String message) {
      super(message);
    }
  }

  public static MockConfig load(Path file) throws IOException {
    JsonNode root = YAML.readTree(Files.readAllBytes(file));
    if (root == null || !root.isObject()) {
      throw new InvalidConfigException(file + ": expected a YAML mapping at the top");
    }
    try {
      return parse(root);
    } catch (IllegalArgumentException e) {
      throw new InvalidConfigException(file + ": " + e.getMessage());
    }
  }

  static MockConfig parse(JsonNode root) {
    checkFields(root, TOP, "");
    MockConfig.Builder builder = MockConfig.builder();
    if (root.has("host")) {
      builder.host(text(root, "host", "host"));
    }
    if (root.has("port")) {
      builder.port(integer(root, "port", "port"));
    }
    if (root.has("seed")) {
      builder.seed(root.get("seed").asLong());
    }
    if (root.has("output_tokens")) {
      builder.outputTokens(integer(root, "output_tokens", "output_tokens"));
    }
    if (root.has("default_max_tokens")) {
      builder.defaultMaxTokens(integer(root, "default_max_tokens", "default_max_tokens"));
    }
    if (root.has("embedding_dimensions")) {
      builder.embeddingDimensions(integer(root, "embedding_dimensions", "embedding_dimensions"));
    }
    if (root.has("hang_ms")) {
      builder.hangMillis(integer(root, "hang_ms", "hang_ms"));
    }
    if (root.has("stream_json_style")) {
      String style = text(root, "stream_json_style", "stream_json_style");
      try {
        builder.streamJsonStyle(StreamJsonStyle.fromWireName(style));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("stream_json_style: " + e.getMessage());
      }
    }
    if (root.has("models")) {
      List<String> models = new ArrayList<>();
      root.get("models").forEach(m -> models.add(m.asText()));
      builder.models(models);
    }
    if (root.has("latency")) {
      JsonNode latency = root.get("latency");
      checkFields(latency, Set.of("ttft_ms", "ms_per_token", "jitter"), "latency.");
      builder.latency(
          new LatencyModel(
              latency.path("ttft_ms").asLong(300),
              latency.path("ms_per_token").asDouble(10),
              latency.path("jitter").asDouble(0.1)));
    }
    if (root.has("faults")) {
      builder.faults(faultRates(root.get("faults"), "faults"));
    }
    JsonNode defaults = root.path("defaults");
    if (!defaults.isMissingNode()) {
      checkFields(defaults, Set.of("rpm", "tpm"), "defaults.");
    }
    JsonNode keys = root.path("keys");
    if (!keys.isArray() || keys.isEmpty()) {
      throw new IllegalArgumentException("keys: a list of at least one key is required");
    }
    for (int i = 0; i < keys.size(); i++) {
      builder.addKey(key(keys.get(i), "keys[" + i + "].", defaults));
    }
    return builder.build();
  }

  private static KeySpec key(JsonNode node, String path, JsonNode defaults) {
    checkFields(node, KEY, path);
    String name = text(node, "name", path + "name");
    String secret = text(node, "key", path + "key");
    long rpm =
        node.has("rpm") ? integer(node, "rpm", path + "rpm") : defaults.path("rpm").asLong(200);
    long tpm =
        node.has("tpm") ? integer(node, "tpm", path + "tpm") : defaults.path("tpm").asLong(40_000);
    FaultRates faults =
        node.has("faults") ? faultRates(node.get("faults"), path + "faults") : FaultRates.NONE;
    int port = node.has("port") ? integer(node, "port", path + "port") : 0;
    try {
      return new KeySpec(name, secret, rpm, tpm, faults, port, node.path("dead").asBoolean(false));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(path + ": " + e.getMessage());
    }
  }

  /** Reads {@code {"500": 0.1, "reset": 0.05}}; used by YAML and by {@code POST /__faults}. */
  static FaultRates faultRates(JsonNode node, String path) {
    if (!node.isObject()) {
      throw new IllegalArgumentException(path + ": expected a mapping of fault kind to rate");
    }
    Map<FaultKind, Double> rates = new EnumMap<>(FaultKind.class);
    for (Map.Entry<String, JsonNode> e : node.properties()) {
      FaultKind kind;
      try {
        kind = FaultKind.fromWireName(e.getKey());
      } catch (IllegalArgumentException ex) {
        throw new IllegalArgumentException(path + "." + e.getKey() + ": " + ex.getMessage());
      }
      if (!e.getValue().isNumber()) {
        throw new IllegalArgumentException(path + "." + e.getKey() + ": expected a number in 0..1");
      }
      rates.put(kind, e.getValue().asDouble());
    }
    try {
      return new FaultRates(rates);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(path + ": " + e.getMessage());
    }
  }

  private static void checkFields(JsonNode node, Set<String> known, String path) {
    if (!node.isObject()) {
      throw new IllegalArgumentException(
          (path.isEmpty() ? "top level" : path.substring(0, path.length() - 1))
              + ": expected a mapping");
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!known.contains(field)) {
        throw new IllegalArgumentException(
            path
                + field
                + ": unknown field; known: "
                + String.join(", ", known.stream().sorted().toList()));
      }
    }
  }

  private static String text(JsonNode node, String field, String path) {
    JsonNode value = node.get(field);
    if (value == null || !value.isValueNode() || value.asText().isBlank()) {
      throw new IllegalArgumentException(path + ": a non-empty string is required");
    }
    return value.asText();
  }

  private static int integer(JsonNode node, String field, String path) {
    JsonNode value = node.get(field);
    if (value == null || !value.canConvertToInt() || !value.isIntegralNumber()) {
      throw new IllegalArgumentException(path + ": an integer is required");
    }
    return value.asInt();
  }
}
