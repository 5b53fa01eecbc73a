package dev.penstock.server.tenant;

/**
 * One model's list price, in USD per million tokens, as providers publish it.
 *
 * <p>Cached input is the price of a prompt token the provider served from its prompt cache (a cache
 * read, OpenAI's {@code cached_tokens}); such tokens are part of the input tokens, never added to
 * them. A model without a cached price pays its input price for them: the safe side of a bill.
 *
 * @param inputPer1m USD per 1M input (prompt) tokens not served from the cache
 * @param cachedInputPer1m USD per 1M input tokens served from the provider's prompt cache
 * @param outputPer1m USD per 1M output (completion) tokens, reasoning tokens included
 */
public record Price(double inputPer1m, double cachedInputPer1m, double outputPer1m) {
  private static final double PER = 1_000_000.0;

  /** Every price is a finite, non-negative number; anything else is a bug of the caller. */
  public Price {
    check(inputPer1m, "inputPer1m");
    check(cachedInputPer1m, "cachedInputPer1m");
    check(outputPer1m, "outputPer1m");
  }

  /** A price without a cached-input discount: cached tokens cost what input tokens cost. */
  public static Price of(double inputPer1m, double outputPer1m) {
    return new Price(inputPer1m, inputPer1m, outputPer1m);
  }

  /**
   * What a request that used these tokens costs, in USD. Negative counts (usage the upstream did
   * not report) count as 0; cached tokens are clamped to the input tokens they are part of.
   *
   * @param inputTokens every prompt token, cached ones included ({@code prompt_tokens})
   * @param cachedTokens of those, the ones served from the prompt cache
   * @param outputTokens the completion tokens
   */
  public double cost(long inputTokens, long cachedTokens, long outputTokens) {
    long input = Math.max(0, inputTokens);
    long cached = Math.clamp(cachedTokens, 0, input);
    long output = Math.max(0, outputTokens);
    return ((input - cached) * inputPer1m + cached * cachedInputPer1m + output * outputPer1m) / PER;
  }

  private static void check(double value, String name) {
    if (!(value >= 0 && Double.isFinite(value))) {
      throw new IllegalArgumentException(name + " must be a finite number >= 0, got " + value);
    }
  }
}
