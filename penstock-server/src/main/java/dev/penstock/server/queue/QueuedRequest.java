package dev.penstock.server.queue;

import com.fasterxml.jackson.databind.JsonNode;
import com.rabbitmq.client.AMQP;
import dev.penstock.core.queue.Priority;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What one message asks for, read from its properties and headers (docs/queues.md): the endpoint,
 * the Penstock priority its AMQP priority maps to, its deadline, the virtual key it presents, and
 * the headers passed on to the pipeline. Reading throws {@link ApiError} for a message that can
 * never be served as it is (a permanent failure: it is dead-lettered).
 *
 * @param endpoint from the {@code type} property or the {@code x-penstock-endpoint} header
 * @param priority the message's priority mapped onto Penstock's (see {@link #priorityOf})
 * @param timeoutMillis {@code x-penstock-timeout-ms}, else the configured {@code timeout_ms}
 * @param presentedKey the virtual key from {@code authorization: Bearer pk-...} or {@code api-key};
 *     empty when none
 * @param model the body's {@code model}, or null when the body is not a JSON object naming one (the
 *     pipeline then answers why)
 * @param headers passed to the pipeline as a client's would be ({@code x-penstock-cache})
 */
record QueuedRequest(
    Endpoint endpoint,
    Priority priority,
    long timeoutMillis,
    String presentedKey,
    @Nullable String model,
    Map<String, String> headers) {

  static final String ENDPOINT_HEADER = "x-penstock-endpoint";
  static final String TIMEOUT_HEADER = "x-penstock-timeout-ms";

  /** Reads a delivery; throws {@link ApiError} when it can never be served. */
  static QueuedRequest read(
      AMQP.BasicProperties props, byte[] body, int maxPriority, long defaultTimeoutMillis) {
    Map<String, @Nullable Object> headers = headers(props);
    Endpoint endpoint = endpoint(props.getType(), text(headers, ENDPOINT_HEADER));
    long timeout = timeout(text(headers, TIMEOUT_HEADER), defaultTimeoutMillis);
    String authorization = text(headers, "authorization");
    String apiKey = text(headers, "api-key");
    String presented =
        dev.penstock.server.tenant.Tenants.presentedKey(
            authorization == null ? "" : authorization, apiKey == null ? "" : apiKey);
    String model = null;
    JsonNode root = json(body);
    if (root != null && root.isObject()) {
      if (root.path("stream").asBoolean(false)) {
        throw ApiError.invalid(
            "A queued request cannot stream: its answer is one reply message. Remove \"stream\".",
            "stream",
            "stream_unsupported");
      }
      JsonNode m = root.get("model");
      model = m != null && m.isTextual() ? m.asText() : null;
    }
    Map<String, String> pass = new LinkedHashMap<>();
    String cache = text(headers, "x-penstock-cache");
    if (cache != null) {
      pass.put("x-penstock-cache", cache);
    }
    return new QueuedRequest(
        endpoint, priorityOf(props.getPriority(), maxPriority), timeout, presented, model, pass);
  }

  /**
   * A message priority mapped onto Penstock's, in thirds of {@code 0..maxPriority}: the top third
   * is {@code high}, the bottom third {@code low}, the middle {@code normal}. A message without a
   * priority is priority 0, as RabbitMQ itself orders it: {@code low}. With the default maximum of
   * 10: 0-3 low, 4-6 normal, 7-10 high. A priority above the maximum counts as the maximum, as in
   * RabbitMQ.
   */
  static Priority priorityOf(@Nullable Integer messagePriority, int maxPriority) {
    int p = messagePriority == null ? 0 : Math.clamp(messagePriority, 0, maxPriority);
    if (3 * p > 2 * maxPriority) {
      return Priority.HIGH;
    }
    if (3 * p <= maxPriority) {
      return Priority.LOW;
    }
    return Priority.NORMAL;
  }

  /** The endpoint a message names, {@code /v1/chat/completions} when it names none. */
  static Endpoint endpoint(@Nullable String type, @Nullable String header) {
    String named = header != null && !header.isBlank() ? header : type;
    if (named == null || named.isBlank()) {
      return Endpoint.CHAT;
    }
    String path = named.trim().toLowerCase(Locale.ROOT);
    if (path.startsWith("/v1/")) {
      path = path.substring(3);
    }
    for (Endpoint e : Endpoint.values()) {
      if (e.path().equals(path)) {
        return e;
      }
    }
    throw ApiError.invalid(
        "Unknown endpoint in the message's type or x-penstock-endpoint: expected"
            + " /v1/chat/completions, /v1/completions, /v1/responses or /v1/embeddings.",
        ENDPOINT_HEADER,
        "invalid_endpoint");
  }

  private static long timeout(@Nullable String value, long defaultMillis) {
    if (value == null) {
      return defaultMillis;
    }
    try {
      long millis = Long.parseLong(value.trim());
      if (millis >= 1 && millis <= 86_400_000) {
        return millis;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw ApiError.invalid(
        "Invalid x-penstock-timeout-ms header: expected whole milliseconds from 1 to 86400000.",
        TIMEOUT_HEADER,
        "invalid_header");
  }

  private static @Nullable JsonNode json(byte[] body) {
    try {
      return RequestReader.JSON.readTree(body);
    } catch (IOException | RuntimeException e) {
      return null; // the pipeline's read stage answers what is wrong with it
    }
  }

  /** The message's headers with their names in lower case. */
  static Map<String, @Nullable Object> headers(AMQP.BasicProperties props) {
    Map<String, @Nullable Object> lower = new LinkedHashMap<>();
    Map<String, Object> headers = props.getHeaders();
    if (headers != null) {
      headers.forEach((k, v) -> lower.put(k.toLowerCase(Locale.ROOT), v));
    }
    return lower;
  }

  /** A header as text (AMQP strings arrive as {@code LongString}); null when absent. */
  static @Nullable String text(Map<String, @Nullable Object> headers, String name) {
    Object value = headers.get(name);
    return value == null ? null : value.toString();
  }
}
