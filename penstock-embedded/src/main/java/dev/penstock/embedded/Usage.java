package dev.penstock.embedded;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Real token usage an upstream reported; -1 where it said nothing. Chat and completions report
 * {@code prompt_tokens}/{@code completion_tokens}, the Responses API {@code input_tokens}/{@code
 * output_tokens} (in a stream, inside the {@code response} of its last event).
 */
record Usage(long promptTokens, long completionTokens) {
  static final Usage UNKNOWN = new Usage(-1, -1);

  boolean known() {
    return promptTokens >= 0;
  }

  /** The usage of a whole answer, or of one streamed event's JSON. */
  static Usage of(JsonNode answer) {
    JsonNode usage = answer.path("usage");
    if (!usage.isObject()) {
      usage = answer.path("response").path("usage");
    }
    if (usage.has("input_tokens")) {
      return new Usage(
          usage.path("input_tokens").asLong(-1), usage.path("output_tokens").asLong(0));
    }
    if (usage.has("prompt_tokens")) {
      return new Usage(
          usage.path("prompt_tokens").asLong(-1), usage.path("completion_tokens").asLong(0));
    }
    return UNKNOWN;
  }

  /** The usage of a whole JSON answer; {@link #UNKNOWN} for anything that is not one. */
  static Usage ofBody(byte[] body) {
    try {
      return of(RequestPeek.JSON.readTree(body));
    } catch (java.io.IOException | RuntimeException e) {
      return UNKNOWN;
    }
  }
}
