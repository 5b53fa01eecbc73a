package dev.penstock.server.batch;

/**
 * What one line came to, written in the same transaction that marks it done or failed.
 *
 * @param failed whether it goes to the error file rather than the output file
 * @param json the whole output (or error) line, without its newline: {@code {"id":...,
 *     "custom_id":..., "response": {...}, "error": ...}}
 * @param inputTokens the answer's usage (0 when none), summed into the batch's {@code usage}
 */
public record LineResult(
    boolean failed,
    String json,
    long inputTokens,
    long cachedTokens,
    long outputTokens,
    long reasoningTokens) {
  /** A failure with no usage. */
  public static LineResult failure(String json) {
    return new LineResult(true, json, 0, 0, 0, 0);
  }
}
