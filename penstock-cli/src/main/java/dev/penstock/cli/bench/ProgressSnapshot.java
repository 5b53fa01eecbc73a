package dev.penstock.cli.bench;

import java.util.Map;

/**
 * Where a run stands, as handed to a {@link ProgressListener}.
 *
 * @param elapsedNanos since the start
 * @param durationNanos the configured sending duration
 * @param requestCap the configured cap on requests, or {@link Long#MAX_VALUE}
 * @param sent requests sent so far
 * @param dropped open-loop requests not sent because {@code --max-inflight} was reached
 * @param completed sent requests that have ended, whatever their outcome
 * @param inFlight sent requests not yet ended
 * @param draining sending has stopped; the run waits for the requests in flight
 * @param statusCounts requests per outcome label ({@code 2xx}, {@code 429}, {@code timeout}...)
 */
public record ProgressSnapshot(
    long elapsedNanos,
    long durationNanos,
    long requestCap,
    long sent,
    long dropped,
    long completed,
    int inFlight,
    boolean draining,
    Map<String, Long> statusCounts) {

  public ProgressSnapshot {
    statusCounts = Map.copyOf(statusCounts);
  }

  /** How many requests ended with a 2xx. */
  public long succeeded() {
    return statusCounts.getOrDefault(Outcome.OK.label(), 0L);
  }

  /** How many requests ended with a 429. */
  public long rateLimited() {
    return statusCounts.getOrDefault("429", 0L);
  }
}
