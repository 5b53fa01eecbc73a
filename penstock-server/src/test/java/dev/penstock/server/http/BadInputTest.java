package dev.penstock.server.http;

import static dev.penstock.server.http.BadInputGateway.CHAT_MODEL;
import static dev.penstock.server.http.BadInputGateway.EMBEDDING_MODEL;
import static dev.penstock.server.http.BadInputGateway.MAX_BODY_BYTES;
import static dev.penstock.server.http.BadInputGateway.VALID_CHAT;
import static dev.penstock.server.http.RawHttp.assertOpenAiError;
import static dev.penstock.server.http.RawHttp.concat;
import static dev.penstock.server.http.RawHttp.post;
import static dev.penstock.server.http.RawHttp.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.server.http.RawHttp.Response;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every named kind of bad input, over a real socket: the exact status, OpenAI's error shape with
 * the expected type and code, and a valid request served right after on a new connection.
 */
class BadInputTest {
  private static BadInputGateway gateway;

  @BeforeAll
  static void start() {
    gateway = new BadInputGateway();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  /** One bad request and the answer it must get; {@code code} may be null, as OpenAI's is. */
  @SuppressWarnings("ArrayRecordComponent") // a test case, never compared: the bytes are sent
  record Case(String name, byte[] request, int status, String type, @Nullable String code) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static final String INVALID = "invalid_request_error";

  static Stream<Case> cases() {
    return Stream.of(body(), headers(), framing(), routes()).flatMap(s -> s);
  }

  private static Stream<Case> body() {
    return Stream.of(
        new Case("malformed JSON", post("/v1/chat/completions", "{nope"), 400, INVALID, null),
        new Case("empty body", post("/v1/chat/completions", ""), 400, INVALID, null),
        new Case(
            "not an object", post("/v1/chat/completions", "[1]"), 400, INVALID, "invalid_type"),
        new Case(
            "missing model",
            post("/v1/chat/completions", "{\"messages\":[{}]}"),
            400,
            INVALID,
            null),
        new Case(
            "model of wrong type",
            post("/v1/chat/completions", "{\"model\":[1],\"messages\":[{}]}"),
            400,
            INVALID,
            "invalid_type"),
        new Case(
            "missing messages",
            post("/v1/chat/completions", "{\"model\":\"" + CHAT_MODEL + "\"}"),
            400,
            INVALID,
            null),
        new Case(
            "messages of wrong type",
            post("/v1/chat/completions", "{\"model\":\"" + CHAT_MODEL + "\",\"messages\":{}}"),
            400,
            INVALID,
            "invalid_type"),
        new Case(
            "max_tokens too big for a long",
            post(
                "/v1/chat/completions",
                "{\"model\":\""
                    + CHAT_MODEL
                    + "\",\"messages\":[{}],\"max_tokens\":123456789012345678901234567890}"),
            400,
            INVALID,
            "invalid_type"),
        new Case(
            "stream of wrong type",
            post(
                "/v1/chat/completions",
                "{\"model\":\"" + CHAT_MODEL + "\",\"messages\":[{}],\"stream\":1}"),
            400,
            INVALID,
            "invalid_type"),
        new Case(
            "embeddings input of wrong type",
            post("/v1/embeddings", "{\"model\":\"" + EMBEDDING_MODEL + "\",\"input\":7}"),
            400,
            INVALID,
            "invalid_type"),
        new Case(
            "responses without input",
            post("/v1/responses", "{\"model\":\"" + CHAT_MODEL + "\"}"),
            400,
            INVALID,
            null),
        new Case(
            "deep nesting",
            post("/v1/chat/completions", "[".repeat(1000) + "]".repeat(1000)),
            400,
            INVALID,
            null),
        new Case(
            "invalid UTF-8",
            request(
                "POST",
                "/v1/chat/completions",
                Map.of(),
                concat(
                    "{\"model\":\"".getBytes(StandardCharsets.UTF_8),
                    new byte[] {(byte) 0xc3, '"', '}'})),
            400,
            INVALID,
            null),
        new Case(
            "unknown model",
            post("/v1/chat/completions", "{\"model\":\"gpt-nope\",\"messages\":[{}]}"),
            404,
            INVALID,
            "model_not_found"),
        new Case(
            "body over the limit, by Content-Length",
            post("/v1/chat/completions", "x".repeat(MAX_BODY_BYTES + 1)),
            413,
            INVALID,
            "request_too_large"),
        new Case(
            "body over the limit, chunked",
            chunked("/v1/chat/completions", "x".repeat(MAX_BODY_BYTES + 1)),
            413,
            INVALID,
            "request_too_large"));
  }

  private static Stream<Case> headers() {
    return Stream.of(
        new Case(
            "huge header value",
            withHeaders(Map.of("X-Big", "a".repeat(HttpLimits.MAX_HEADER_BYTES))),
            431,
            INVALID,
            "request_headers_too_large"),
        new Case(
            "too many headers",
            manyHeaders(HttpLimits.MAX_HEADER_COUNT + 1),
            431,
            INVALID,
            "request_headers_too_large"),
        new Case(
            "control character in a header",
            withHeaders(Map.of("X-C", "a\u0001b")),
            400,
            INVALID,
            "invalid_http_request"),
        new Case(
            "header without a colon",
            withHeaders(Map.of("NoColon\r\nX-A", "b")),
            400,
            INVALID,
            "invalid_http_request"),
        new Case(
            "no Host header",
            "GET /v1/models HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
            400,
            INVALID,
            "invalid_http_request"),
        new Case(
            "priority not a level",
            withHeaders(Map.of("x-penstock-priority", "urgent")),
            400,
            INVALID,
            "invalid_header"),
        new Case(
            "timeout not a number",
            withHeaders(Map.of("x-penstock-timeout-ms", "soon")),
            400,
            INVALID,
            "invalid_header"),
        new Case(
            "timeout zero",
            withHeaders(Map.of("x-penstock-timeout-ms", "0")),
            400,
            INVALID,
            "invalid_header"),
        new Case(
            "timeout beyond a long",
            withHeaders(Map.of("x-penstock-timeout-ms", "99999999999999999999999")),
            400,
            INVALID,
            "invalid_header"));
  }

  private static Stream<Case> framing() {
    return Stream.of(
        new Case(
            "Content-Length not a number",
            withHeaders(Map.of("Content-Length", "abc")),
            400,
            INVALID,
            "invalid_http_request"),
        new Case(
            "Content-Length negative",
            withHeaders(Map.of("Content-Length", "-5")),
            400,
            INVALID,
            "invalid_http_request"),
        new Case(
            "Content-Length twice",
            withHeaders(Map.of("Content-Length", "3\r\nContent-Length: 5")),
            400,
            INVALID,
            "invalid_http_request"),
        new Case(
            "Content-Length longer than the body",
            request(
                "POST",
                "/v1/chat/completions",
                Map.of("Content-Length", "500"),
                "{}".getBytes(StandardCharsets.US_ASCII)),
            400,
            INVALID,
            "invalid_body"),
        new Case(
            "Transfer-Encoding unknown",
            withHeaders(Map.of("Transfer-Encoding", "gzip")),
            400,
            INVALID,
            "invalid_http_request"),
        new Case(
            "Transfer-Encoding and Content-Length",
            request(
                "POST",
                "/v1/chat/completions",
                Map.of("Transfer-Encoding", "chunked", "Content-Length", "5"),
                "5\r\nhello\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII)),
            400,
            INVALID,
            "invalid_http_request"),
        new Case(
            "chunk size not hex",
            request(
                "POST",
                "/v1/chat/completions",
                Map.of("Transfer-Encoding", "chunked"),
                "zz\r\nabc\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII)),
            400,
            INVALID,
            "invalid_body"),
        new Case(
            "unsupported Content-Encoding",
            withHeaders(Map.of("Content-Encoding", "br")),
            400,
            INVALID,
            "invalid_http_request"),
        new Case(
            "garbage request line",
            "GARBAGE\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
            400,
            INVALID,
            "invalid_http_request"),
        new Case(
            "HTTP/1.0",
            "GET /v1/models HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
            400,
            INVALID,
            "unsupported_protocol"),
        new Case(
            "request line too long",
            request(
                "GET",
                "/v1/" + "a".repeat(HttpLimits.MAX_REQUEST_LINE_BYTES),
                Map.of(),
                new byte[0]),
            414,
            INVALID,
            "uri_too_long"),
        new Case(
            "bad percent-encoding",
            request("GET", "/v1/mo%zzdels", Map.of(), new byte[0]),
            400,
            INVALID,
            "invalid_http_request"));
  }

  private static Stream<Case> routes() {
    return Stream.of(
        new Case("unknown path", post("/v1/nowhere", "{}"), 404, INVALID, "unknown_url"),
        new Case(
            "PUT on chat",
            request("PUT", "/v1/chat/completions", Map.of(), new byte[0]),
            405,
            INVALID,
            "method_not_allowed"),
        new Case(
            "DELETE on models",
            request("DELETE", "/v1/models", Map.of(), new byte[0]),
            405,
            INVALID,
            "method_not_allowed"),
        new Case(
            "unknown method",
            request("BREW", "/v1/embeddings", Map.of(), new byte[0]),
            405,
            INVALID,
            "method_not_allowed"),
        new Case(
            "unknown model by id",
            request("GET", "/v1/models/nope", Map.of(), new byte[0]),
            404,
            INVALID,
            "model_not_found"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void isAnsweredWithOpenAisErrorAndTheServerStaysUp(Case c) {
    Response answer = RawHttp.exchange(gateway.port(), c.request()).getFirst();
    assertThat(answer.status()).as("%s: %s", c.name(), answer.text()).isEqualTo(c.status());
    assertOpenAiError(answer, c.name());
    assertThat(answer.json().at("/error/type").asText()).as(c.name()).isEqualTo(c.type());
    assertThat(answer.json().at("/error/code").textValue()).as(c.name()).isEqualTo(c.code());
    assertThat(answer.text()).as("no stack trace").doesNotContain("Exception", "\tat ");

    Response valid = RawHttp.single(gateway.port(), post("/v1/chat/completions", VALID_CHAT));
    assertThat(valid.status()).as("a valid request after %s", c.name()).isEqualTo(200);
  }

  private static byte[] withHeaders(Map<String, String> headers) {
    return request(
        "POST", "/v1/chat/completions", headers, VALID_CHAT.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] manyHeaders(int count) {
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      headers.put("X-Header-" + i, "v");
    }
    return withHeaders(headers);
  }

  private static byte[] chunked(String path, String body) {
    String chunks = Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n";
    return request(
        "POST",
        path,
        Map.of("Transfer-Encoding", "chunked"),
        chunks.getBytes(StandardCharsets.UTF_8));
  }
}
