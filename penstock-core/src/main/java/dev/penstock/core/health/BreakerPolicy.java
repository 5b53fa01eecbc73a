package dev.penstock.core.health;

import java.time.Duration;

/**
 * When a deployment's circuit opens and for how long.
 *
 * @param consecutiveFailures failures in a row that open the circuit
 * @param errorRate the share of failed attempts over the window that opens it (0 disables)
 * @param minRequests attempts the window must hold before the error rate counts
 * @param windowNanos the span the error rate is measured over
 * @param openNanos how long the circuit first stays open before a probe may go
 * @param maxOpenNanos the longest it stays open; each failed probe doubles the time up to this
 */
public record BreakerPolicy(
    int consecutiveFailures,
    double errorRate,
    int minRequests,
    long windowNanos,
    long openNanos,
    long maxOpenNanos) {
  public static final BreakerPolicy DEFAULT =
      new BreakerPolicy(
          5,
          0.5,
          20,
          Duration.ofSeconds(30).toNanos(),
          Duration.ofSeconds(5).toNanos(),
          Duration.ofSeconds(60).toNanos());

  public BreakerPolicy {
    if (consecutiveFailures < 1) {
      throw new IllegalArgumentException("consecutiveFailures must be at least 1");
    }
    if (errorRate < 0 || errorRate > 1) {
      throw new IllegalArgumentException("errorRate must be between 0 and 1");
    }
    if (minRequests < 1 || windowNanos <= 0 || openNanos <= 0 || maxOpenNanos < openNanos) {
      throw new IllegalArgumentException(
          "minRequests and the durations must be positive, maxOpen at least open");
    }
  }
}
