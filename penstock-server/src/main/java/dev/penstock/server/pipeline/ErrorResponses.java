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

  /**
   * The answer to a request that the HTTP layer refused before any route saw it (a malformed
   * request line, headers or framing, or a size limit). {@code status} is what the HTTP layer
   * chose; a client's mistake is always answered with a 4xx, because OpenAI's SDKs retry every 5xx
   * and would resend the same broken request.
   */
  public static ApiError ofProtocol(int status) {
    return switch (status) {
      case 413 ->
          clientError(
              413, "The request body is larger than this gateway accepts.", "request_too_large");
      case 414 ->
          clientError(
              414, "The request line (method, path and query) is too long.", "uri_too_long");
      case 431 ->
          clientError(
              431, "The request headers are too large or too many.", "request_headers_too_large");
      case 501, 505 ->
          clientError(
              400, "This gateway speaks plain HTTP/1.1 requests only.", "unsupported_protocol");
      case 500 ->
          new ApiError(
              500, "server_error", "Penstock failed unexpectedly; see its log.", null, null, -1);
      default ->
          status >= 500
              ? new ApiError(
                  status,
                  "penstock_unavailable",
                  "Penstock cannot serve requests now.",
                  null,
                  null,
                  -1)
              : clientError(
                  status >= 400 ? status : 400,
                  "The request is not valid HTTP/1.1: its request line, headers or message framing"
                      + " are malformed, or its headers are far too large.",
                  "invalid_http_request");
    };
  }

  private static ApiError clientError(int status, String message, String code) {
    return new ApiError(status, "invalid_request_error", message, null, code, -1);
  }

  /** {@code 503 shutting_down}: the gateway is stopping; try another instance or again soon. */
  public static ApiError shuttingDown() {
    return new ApiError(
        503, "penstock_unavailable", "Penstock is shutting down.", null, "shutting_down", 1000);
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
      // Nobody is there to read it; the code names the request's end in the log and metrics.
      case CANCELLED ->
          new ApiError(499, "invalid_request_error", rejected.message(), null, "client_closed", -1);
    };
  }
}
