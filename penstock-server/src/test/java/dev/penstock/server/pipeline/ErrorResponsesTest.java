package dev.penstock.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.RequestReader;
import org.junit.jupiter.api.Test;

class ErrorResponsesTest {
  @Test
  void protocolRefusalsAreClientErrorsWithTheirOwnCodes() {
    record Case(int helidonStatus, int status, String code) {}
    Case[] cases = {
      new Case(400, 400, "invalid_http_request"),
      new Case(403, 403, "invalid_http_request"),
      new Case(413, 413, "request_too_large"),
      new Case(414, 414, "uri_too_long"),
      new Case(431, 431, "request_headers_too_large"),
      // a client's unsupported protocol is its mistake: a 5xx would make SDKs retry it
      new Case(505, 400, "unsupported_protocol"),
      new Case(501, 400, "unsupported_protocol"),
    };
    for (Case c : cases) {
      ApiError error = ErrorResponses.ofProtocol(c.helidonStatus());
      assertThat(error.status()).as("%d", c.helidonStatus()).isEqualTo(c.status());
      assertThat(error.type()).isEqualTo("invalid_request_error");
      assertThat(error.code()).isEqualTo(c.code());
    }
  }

  @Test
  void theBodyIsOpenAisShape() throws Exception {
    JsonNode body =
        RequestReader.JSON.readTree(ErrorResponses.body(ErrorResponses.ofProtocol(431)));
    assertThat(body.at("/error/message").asText()).isNotBlank();
    assertThat(body.at("/error/type").asText()).isEqualTo("invalid_request_error");
    assertThat(body.at("/error").has("param")).isTrue();
    assertThat(body.at("/error/code").asText()).isEqualTo("request_headers_too_large");
  }

  @Test
  void anUnknownModelIsQuotedAtMost256Characters() {
    ApiError error = ApiError.modelNotFound("m".repeat(10_000));
    assertThat(error.status()).isEqualTo(404);
    assertThat(error.getMessage()).hasSizeLessThan(400);
  }
}
