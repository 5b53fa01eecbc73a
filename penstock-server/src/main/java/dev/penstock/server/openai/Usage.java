package dev.penstock.server.openai;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Real token usage reported by an upstream answer; -1 where it said nothing.
 *
 * <p>Chat and legacy completions report {@code prompt_tokens}/{@code completion_tokens} and {@code
 * prompt_tokens_details.cached_tokens}, the Responses API {@code input_tokens}/{@code
 * output_tokens} and {@code input_tokens_details.cached_tokens}, embeddings only {@code
 * prompt_tokens}.
 *
 * @param cachedTokens of the prompt tokens, those the provider served from its prompt cache (they
 *     are part of {@code promptTokens}, billed cheaper); 0 when the upstream did not say, which
 *     prices them all as fresh input — the safe side of a bill
 */
public record Usage(long promptTokens, long completionTokens, long cachedTokens) {
  public static final Usage UNKNOWN = new Usage(-1, -1, 0);

  /** Usage without cached tokens. */
  public Usage(long promptTokens, long completionTokens) {
    this(promptTokens, completionTokens, 0);
  }

  public boolean known() {
    return promptTokens >= 0;
  }

  /** Reads a {@code usage} object (or returns {@link #UNKNOWN} for anything else). */
  public static Usage of(JsonNode usage) {
    if (!usage.isObject()) {
      return UNKNOWN;
    }
    if (usage.has("input_tokens")) {
      return read(usage, "input_tokens", "output_tokens", "input_tokens_details");
    }
    if (usage.has("prompt_tokens")) {
      return read(usage, "prompt_tokens", "completion_tokens", "prompt_tokens_details");
    }
    return UNKNOWN;
  }

  private static Usage read(JsonNode usage, String prompt, String completion, String details) {
    long promptTokens = usage.path(prompt).asLong(-1);
    // A cached count is part of the prompt: a larger one (a confused upstream) is clamped to it.
    long cached = usage.path(details).path("cached_tokens").asLong(0);
    return new Usage(
        promptTokens,
        usage.path(completion).asLong(0),
        Math.clamp(cached, 0, Math.max(0, promptTokens)));
  }
}
