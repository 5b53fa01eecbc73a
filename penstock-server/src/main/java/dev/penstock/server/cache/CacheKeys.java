package dev.penstock.server.cache;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What makes two requests the same request to the exact cache, and which requests it may answer.
 *
 * <p>The key is a SHA-256 over the tenant namespace, the public model, the endpoint and the body
 * normalised: parsed, object keys sorted, numbers written in one form ({@code 0}, {@code 0.0} and
 * {@code 0e0} are the same temperature), and the fields that change how an answer is delivered
 * rather than what it says left out — {@code stream}, {@code stream_options} (a cached answer is
 * replayed in either form) and {@code user} (an end-user id for the provider's abuse monitoring).
 */
public final class CacheKeys {
  /** Fields that do not change the answer's content. */
  static final Set<String> DELIVERY_ONLY = Set.of("stream", "stream_options", "user");

  private CacheKeys() {}

  /**
   * Whether a request says its answer is reproducible (SPEC 5): {@code temperature: 0}, or a {@code
   * seed}. Embeddings say neither; a model's {@code cache.always} caches them (and everything else
   * of that model) without the client asking.
   */
  public static boolean deterministic(Endpoint endpoint, JsonNode root) {
    return dev.penstock.server.openai.OpenAiRequest.saysDeterministic(root);
  }

  /**
   * Whether a request may be cached at all, whatever the client asks (a background run may not).
   */
  public static boolean cacheable(Endpoint endpoint, JsonNode root) {
    return endpoint == Endpoint.EMBEDDINGS || !root.path("background").asBoolean(false);
  }

  /** The exact cache's key of a request. */
  public static String exact(String namespace, String model, Endpoint endpoint, JsonNode root) {
    MessageDigest sha = sha256();
    field(sha, namespace);
    field(sha, model);
    field(sha, endpoint.name());
    sha.update(canonical(root, DELIVERY_ONLY));
    return HexFormat.of().formatHex(sha.digest());
  }

  /**
   * The body in canonical form (sorted keys, one spelling per number), without the top-level fields
   * in {@code leaveOut}.
   */
  static byte[] canonical(JsonNode root, Set<String> leaveOut) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator json = RequestReader.JSON.getFactory().createGenerator(out)) {
      write(json, root, leaveOut);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // writing to memory
    }
    return out.toByteArray();
  }

  private static void write(JsonGenerator json, JsonNode node, Set<String> leaveOut)
      throws IOException {
    switch (node.getNodeType()) {
      case OBJECT -> {
        List<Map.Entry<String, JsonNode>> fields = new ArrayList<>(node.size());
        node.properties().forEach(fields::add);
        fields.sort(Map.Entry.comparingByKey());
        json.writeStartObject();
        for (Map.Entry<String, JsonNode> field : fields) {
          if (!leaveOut.contains(field.getKey())) {
            json.writeFieldName(field.getKey());
            write(json, field.getValue(), Set.of());
          }
        }
        json.writeEndObject();
      }
      case ARRAY -> {
        json.writeStartArray();
        for (JsonNode item : node) {
          write(json, item, Set.of());
        }
        json.writeEndArray();
      }
      case NUMBER -> json.writeNumber(number(node));
      default -> json.writeTree(node);
    }
  }

  /** A number in one spelling: {@code 1}, {@code 1.0} and {@code 1e0} are the same value. */
  private static String number(JsonNode node) {
    if (node.isIntegralNumber()) {
      return node.bigIntegerValue().toString();
    }
    BigDecimal value = node.decimalValue();
    return value.signum() == 0 ? "0" : value.stripTrailingZeros().toPlainString();
  }

  /** A field with its length in front: no two different lists of fields hash the same bytes. */
  private static void field(MessageDigest sha, String value) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    sha.update(java.nio.ByteBuffer.allocate(4).putInt(bytes.length).array());
    sha.update(bytes);
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
