package dev.penstock.core.retry;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * How often a failed request is tried, and how long to wait before trying the same deployment
 * again: exponential backoff with full jitter — attempt {@code n}'s wait is drawn uniformly from
 * {@code [0, min(cap, base × 2^(n-1))]}, so that clients failing together do not retry together.
 *
 * @param attempts the most attempts per request, the first included (1 = no retries)
 * @param baseNanos the upper bound of the first backoff
 * @param capNanos the largest backoff
 */
public record RetryPolicy(int attempts, long baseNanos, long capNanos) {
  public static final RetryPolicy DEFAULT =
      new RetryPolicy(3, Duration.ofSeconds(1).toNanos(), Duration.ofSeconds(32).toNanos());

  public RetryPolicy {
    if (attempts < 1) {
      throw new IllegalArgumentException("attempts must be at least 1");
    }
    if (baseNanos < 0 || capNanos < baseNanos) {
      throw new IllegalArgumentException("base must not be negative and cap at least base");
    }
  }

  /**
   * The wait before retry number {@code retry} (1 = the first retry) on the same deployment, drawn
   * from {@code random}.
   */
  public long backoffNanos(int retry, RandomGenerator random) {
    if (retry < 1) {
      throw new IllegalArgumentException("retry counts from 1");
    }
    long ceiling = baseNanos;
    for (int i = 1; i < retry && ceiling < capNanos; i++) {
      ceiling = ceiling > capNanos / 2 ? capNanos : ceiling * 2;
    }
    ceiling = Math.min(ceiling, capNanos);
    return ceiling == 0 ? 0 : random.nextLong(ceiling + 1);
  }
}
