package dev.penstock.core;

import dev.penstock.core.queue.Priority;

/**
 * What a request asks of the scheduler: a model, who asks, how urgently, how many tokens it will be
 * charged, and by when it must start.
 *
 * @param promptTokens the estimated prompt tokens
 * @param outputTokens the output cap (charged like OpenAI charges it)
 * @param deadlineNanos the ticker time after which starting is pointless
 */
public record Demand(
    String model,
    String tenant,
    Priority priority,
    long promptTokens,
    long outputTokens,
    long deadlineNanos) {

  public Demand {
    if (promptTokens < 0 || outputTokens < 0) {
      throw new IllegalArgumentException("token counts must not be negative");
    }
  }

  public long tokens() {
    return promptTokens + outputTokens;
  }
}
