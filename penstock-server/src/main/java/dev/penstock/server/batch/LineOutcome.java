package dev.penstock.server.batch;

/** What one run of a line came to: a result to store, or a reason to run it again later. */
public sealed interface LineOutcome {

  /**
   * The line is answered for good: its output line (done) or its error line (failed for good — a
   * {@code 4xx}, the key revoked, over budget).
   */
  record Finished(LineResult result) implements LineOutcome {}

  /**
   * The line could not start — the gateway or the key had no room now, the gateway is stopping, no
   * answer came at all. It is released and runs again later; this does not count against its
   * attempts.
   *
   * @param retryAfterMillis the answer's {@code Retry-After}, -1 when it gave none
   */
  record NoCapacity(long retryAfterMillis) implements LineOutcome {}

  /**
   * The upstreams failed it ({@code 5xx}, after the pipeline's own retries and failover). It runs
   * again later, up to the runner's line attempts; then {@code ifExhausted} is stored.
   *
   * @param ifExhausted the error line stored when no attempt is left ({@code attempts_exhausted})
   * @param retryAfterMillis the answer's {@code Retry-After}, -1 when it gave none
   */
  record ServerError(LineResult ifExhausted, long retryAfterMillis) implements LineOutcome {}
}
