package dev.penstock.cli.bench;

/**
 * What one request measured, as its own thread saw it; the recorder turns it into latency from the
 * request's due time.
 *
 * <p>Absent measurements are {@code -1} or empty rather than {@code Optional}: millions of these
 * are made per run and they never leave the package.
 *
 * @param outcome how the request ended
 * @param endNanos when the last byte arrived, or when the failure was seen (bench clock)
 * @param firstTokenNanos streams: when the first event carrying output text arrived; else -1
 * @param inputTokens prompt tokens from the answer's {@code usage}; 0 when not reported
 * @param outputTokens completion tokens from the answer's {@code usage}; 0 when not reported
 * @param queueMicros the gateway's {@code x-penstock-queue-ms} in microseconds; -1 when absent
 * @param deployment the gateway's {@code x-penstock-deployment}; empty when absent
 */
record Completion(
    Outcome outcome,
    long endNanos,
    long firstTokenNanos,
    long inputTokens,
    long outputTokens,
    long queueMicros,
    String deployment) {

  static final long NONE = -1;

  /** A request that ended without a usable answer. */
  static Completion failed(Outcome outcome, long endNanos) {
    return new Completion(outcome, endNanos, NONE, 0, 0, NONE, "");
  }
}
