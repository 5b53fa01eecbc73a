package dev.penstock.server.pipeline;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.core.Admission;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.RequestReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one place where errors become answers: OpenAI's error shape, the right status, and for {@code
 * 429}/{@code 503} a {@code Retry-After} (whole seconds, at least 1) with the exact {@code
 * retry-after-ms} that the OpenAI SDKs read first.
 */
public final class ErrorResponses {
  private ErrorResponses() {}

  public static byte[] body(ApiError error) {
    ObjectNode inner = JsonNodeFactory.instance.objectNode();
    inner.put("message", error.getMessage());
    inner.put("type", error.type());
    inner.put("param", error.param());
    inner.put("code", error.code());
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.set("error", inner);
    try {
      return RequestReader.JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** An error as an SSE event, for a stream that already began: OpenAI's SDKs raise it. */
  public static byte[] sseEvent(ApiError error) {
    return ("data: " + new String(body(error), StandardCharsets.UTF_8) + "\n\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  public static void send(ClientExchange exchange, ApiError error, Map<String, String> headers) {
    Map<String, String> all = new LinkedHashMap<>(headers);
    all.put("Content-Type", "application/json");
    if (error.retryAfterMillis() >= 0) {
      all.put("Retry-After", Long.toString(Math.max(1, (error.retryAfterMillis() + 999) / 1000)));
      all.put("retry-after-ms", Long.toString(error.retryAfterMillis()));
    }
    exchange.send(error.status(), all, body(error));
  }

  /** Maps the scheduler's refusal to the client's answer. */
  public static ApiError of(Admission.Rejected rejected) {
    long retryMillis = (rejected.retryAfterNanos() + 999_999) / 1_000_000;
    return switch (rejected.reason()) {
      case OVERLOADED ->
          new ApiError(
              429,
              "penstock_overloaded",
              rejected.message(),
              null,
              "penstock_overloaded",
              retryMillis);
      case QUEUE_FULL ->
          new ApiError(
              429, "penstock_overloaded", rejected.message(), null, "queue_full", retryMillis);
      case TOO_LARGE ->
          new ApiError(
              400, "invalid_request_error", rejected.message(), null, "request_too_large", -1);
      case NO_DEPLOYMENT ->
          new ApiError(
              503, "penstock_unavailable", rejected.message(), null, "no_deployment", 1000);
      case FAILED ->
          new ApiError(502, "upstream_error", rejected.message(), null, "upstream_failed", -1);
      case SHUTTING_DOWN ->
          new ApiError(
              503, "penstock_unavailable", rejected.message(), null, "shutting_down", 1000);
    };
  }
}
