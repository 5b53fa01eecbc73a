package dev.penstock.embedded;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.core.Admission;
import java.io.ByteArrayInputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The one place where Penstock's own errors become answers: OpenAI's error shape and the status the
 * gateway gives them, with {@code Retry-After} and {@code retry-after-ms} (which the OpenAI SDKs
 * read first) on a {@code 429} or {@code 503}.
 */
final class Errors {
  private Errors() {}

  static PenstockResponse of(Admission.Rejected rejected, Map<String, List<String>> headers) {
    long retryMillis = (rejected.retryAfterNanos() + 999_999) / 1_000_000;
    String message = rejected.message();
    return switch (rejected.reason()) {
      case OVERLOADED ->
          answer(429, "penstock_overloaded", "penstock_overloaded", message, retryMillis, headers);
      case QUEUE_FULL ->
          answer(429, "penstock_overloaded", "queue_full", message, retryMillis, headers);
      case TOO_LARGE ->
          answer(400, "invalid_request_error", "request_too_large", message, -1, headers);
      case NO_DEPLOYMENT ->
          answer(503, "penstock_unavailable", "no_deployment", message, 1000, headers);
      case FAILED -> answer(502, "upstream_error", "upstream_failed", message, -1, headers);
      case SHUTTING_DOWN, CANCELLED -> shuttingDown(headers);
    };
  }

  static PenstockResponse shuttingDown(Map<String, List<String>> headers) {
    return answer(
        503, "penstock_unavailable", "shutting_down", "Penstock is shutting down.", 1000, headers);
  }

  static PenstockResponse invalid(int status, String code, String message) {
    return answer(status, "invalid_request_error", code, message, -1, Map.of());
  }

  static PenstockResponse upstream(
      int status, String code, String message, Map<String, List<String>> headers) {
    return answer(status, "upstream_error", code, message, -1, headers);
  }

  static PenstockResponse answer(
      int status,
      String type,
      @Nullable String code,
      String message,
      long retryAfterMillis,
      Map<String, List<String>> headers) {
    Map<String, List<String>> all = new LinkedHashMap<>(headers);
    all.put("content-type", List.of("application/json"));
    if (retryAfterMillis >= 0) {
      all.put("retry-after", List.of(Long.toString(Math.max(1, (retryAfterMillis + 999) / 1000))));
      all.put("retry-after-ms", List.of(Long.toString(retryAfterMillis)));
    }
    return new PenstockResponse(
        status, Map.copyOf(all), new ByteArrayInputStream(body(type, code, message)));
  }

  static byte[] body(String type, @Nullable String code, String message) {
    ObjectNode inner = RequestPeek.JSON.createObjectNode();
    inner.put("message", message);
    inner.put("type", type);
    inner.putNull("param");
    inner.put("code", code);
    ObjectNode root = RequestPeek.JSON.createObjectNode();
    root.set("error", inner);
    try {
      return RequestPeek.JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
