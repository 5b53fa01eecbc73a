package dev.penstock.server.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.RequestReader;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * A failed attempt's answer, kept in case no later attempt succeeds: the upstream's own status and
 * OpenAI-shaped body, or Penstock's error.
 */
@SuppressWarnings("ArrayRecordComponent") // a carrier, never compared: the body is answered as is
record Failure(int status, byte[] body) {
  static Failure of(ApiError error) {
    return new Failure(error.status(), ErrorResponses.body(error));
  }

  /** The error's {@code code}, else its {@code type}, when the body is OpenAI-shaped. */
  @Nullable String code() {
    JsonNode error = error(body);
    JsonNode code = error.path("code").isTextual() ? error.path("code") : error.path("type");
    return code.isTextual() ? code.asText() : null;
  }

  @Nullable String message() {
    JsonNode message = error(body).path("message");
    return message.isTextual() ? message.asText() : null;
  }

  /** The {@code error} object of an OpenAI-shaped body, or an empty object. */
  static JsonNode error(byte[] body) {
    try {
      return RequestReader.JSON.readTree(body).path("error");
    } catch (IOException | RuntimeException e) {
      return RequestReader.JSON.createObjectNode();
    }
  }
}
