package dev.penstock.server.openai;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Real token usage reported by an upstream answer; -1 where it said nothing.
 *
 * <p>Chat and legacy completions report {@code prompt_tokens}/{@code completion_tokens}, the
 * Responses API {@code input_tokens}/{@code output_tokens}, embeddings only {@code prompt_tokens}.
 */
public record Usage(long promptTokens, long completionTokens) {
  public static final Usage UNKNOWN = new Usage(-1, -1);

  public boolean known() {
    return promptTokens >= 0;
  }

  /** Reads a {@code usage} object (or returns {@link #UNKNOWN} for anything else). */
  public static Usage of(JsonNode usage) {
    if (!usage.isObject()) {
      return UNKNOWN;
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
}
