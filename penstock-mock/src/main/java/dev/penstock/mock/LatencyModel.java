package dev.penstock.mock;

import java.util.random.RandomGenerator;

/**
 * How long an answer takes: a time to first token, then a time per output token, each stretched by
 * a uniform jitter of up to ±{@code jitter} (a fraction, 0.1 = ±10%).
 */
public record LatencyModel(long ttftMillis, double millisPerToken, double jitter) {
  public static final LatencyModel ZERO = new LatencyModel(0, 0, 0);

  public LatencyModel {
    if (ttftMillis < 0 || millisPerToken < 0) {
      throw new IllegalArgumentException("latencies must not be negative");
    }
    if (!(jitter >= 0 && jitter < 1)) {
      throw new IllegalArgumentException("jitter must be within [0, 1), got " + jitter);
    }
  }

  long firstTokenNanos(RandomGenerator random) {
    return jittered(ttftMillis * 1_000_000.0, random);
  }

  long perTokenNanos(RandomGenerator random) {
    return jittered(millisPerToken * 1_000_000.0, random);
  }

  private long jittered(double nanos, RandomGenerator random) {
    if (nanos == 0 || jitter == 0) {
      return (long) nanos;
    }
    return (long) (nanos * (1 + jitter * (2 * random.nextDouble() - 1)));
  }
}
