package dev.penstock.server.http;

import dev.penstock.server.openai.ApiError;
import dev.penstock.server.pipeline.ErrorResponses;
import io.helidon.http.DirectHandler;
import io.helidon.http.Header;
import io.helidon.http.HeaderValues;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.helidon.webserver.http1.Http1Config;

/**
 * The limits on a request's line and headers, and how the HTTP layer answers requests it refuses
 * before any route sees them. Two tiers, because Helidon's parser reports every header problem as
 * the same {@code 400} with no detail a handler can read:
 *
 * <ul>
 *   <li>up to {@link #MAX_HEADER_BYTES} and {@link #MAX_HEADER_COUNT}: served;
 *   <li>above that, up to {@link #PARSER_HEADER_BYTES}: parsed, then refused by {@link #headers}
 *       with a {@code 431} that says why;
 *   <li>above the parser's cap: refused while parsing, with a {@code 400}.
 * </ul>
 *
 * Every refusal is OpenAI's error JSON, from {@link ErrorResponses}.
 */
final class HttpLimits {
  /** The longest request line (method, path, query); longer gets {@code 414}. */
  static final int MAX_REQUEST_LINE_BYTES = 8 * 1024;

  /** All header lines together, as Penstock serves them; more gets {@code 431}. */
  static final int MAX_HEADER_BYTES = 32 * 1024;

  /** The most header lines served; more gets {@code 431}. */
  static final int MAX_HEADER_COUNT = 100;

  /** The parser's hard cap, the memory one connection may hold for headers; more gets 400. */
  static final int PARSER_HEADER_BYTES = 128 * 1024;

  private HttpLimits() {}

  /**
   * HTTP/1.1 with the limits above; header values are validated (no control characters); each
   * handler can find its connection ({@link ConnectionCapture}).
   */
  static Http1Config http1(SlowRequestGuard guard) {
    return Http1Config.builder()
        .maxPrologueLength(MAX_REQUEST_LINE_BYTES)
        .maxHeadersSize(PARSER_HEADER_BYTES)
        .validateRequestHeaders(true)
        .addReceiveListener(new ConnectionCapture(guard)) // one listener: see its constructor
        .build();
  }

  /** OpenAI-shaped answers for everything Helidon refuses before routing (its own are text). */
  static DirectHandlers directHandlers() {
    DirectHandlers.Builder handlers = DirectHandlers.builder();
    for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
      handlers.addHandler(type, HttpLimits::answer);
    }
    return handlers.build();
  }

  private static DirectHandler.TransportResponse answer(
      DirectHandler.TransportRequest request,
      DirectHandler.EventType type,
      Status status,
      ServerResponseHeaders headers,
      String message) {
    // Helidon's message may quote the request's bytes; the answer says what is wrong in our words.
    ApiError error = ErrorResponses.ofProtocol(status.code());
    return DirectHandler.TransportResponse.builder()
        .status(status(error.status()))
        .headers(headers)
        .header(HeaderValues.CONTENT_TYPE_JSON)
        .entity(ErrorResponses.body(error))
        .build();
  }

  /** Helidon names no 431 of its own; the status line should. */
  static Status status(int code) {
    return code == 431
        ? Status.create(431, "Request Header Fields Too Large")
        : Status.create(code);
  }

  /** Refuses, with {@code 431}, headers that parsed but exceed Penstock's limits. */
  static void headers(FilterChain chain, RoutingRequest req, RoutingResponse res) {
    int count = 0;
    long bytes = 0;
    for (Header header : req.headers()) {
      for (String value : header.allValues()) {
        count++;
        bytes += header.name().length() + value.length() + 4L; // as on the wire: "name: value\r\n"
      }
    }
    if (count > MAX_HEADER_COUNT || bytes > MAX_HEADER_BYTES) {
      GatewayRoutes.send(res, ErrorResponses.ofProtocol(431));
      return;
    }
    chain.proceed();
  }
}
