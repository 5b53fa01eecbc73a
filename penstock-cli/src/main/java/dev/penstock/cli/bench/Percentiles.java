package dev.penstock.cli.bench;

import org.HdrHistogram.Histogram;

/**
 * Percentiles of one measured quantity, in milliseconds.
 *
 * @param count how many values were recorded; 0 means nothing was measured
 */
public record Percentiles(
    long count, double p50Millis, double p90Millis, double p99Millis, double maxMillis) {

  public static final Percentiles EMPTY = new Percentiles(0, 0, 0, 0, 0);

  /** Reads a histogram recorded in microseconds. */
  static Percentiles ofMicros(Histogram micros) {
    if (micros.getTotalCount() == 0) {
      return EMPTY;
    }
    return new Percentiles(
        micros.getTotalCount(),
        millis(micros.getValueAtPercentile(50)),
        millis(micros.getValueAtPercentile(90)),
        millis(micros.getValueAtPercentile(99)),
        millis(micros.getMaxValue()));
  }

  public boolean isEmpty() {
    return count == 0;
  }

  private static double millis(long micros) {
    return micros / 1_000.0;
  }
}
