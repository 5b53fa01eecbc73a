package dev.penstock.cli.bench;

import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * One point of a percentile curve: {@code percentile} % of values were at most {@code valueMillis}.
 */
public record PercentilePoint(double percentile, double valueMillis) {

  /** Points per decade of the "nines" axis (90 %, 99 %, 99.9 %...). */
  private static final int POINTS_PER_NINE = 10;

  /**
   * The curve of a histogram recorded in microseconds, evenly spaced on a log "nines" axis up to
   * 99.99 %, and no further than the sample supports (1,000 values say nothing about 99.99 %).
   */
  static List<PercentilePoint> curveOfMicros(Histogram micros) {
    long count = micros.getTotalCount();
    List<PercentilePoint> points = new ArrayList<>();
    if (count == 0) {
      return points;
    }
    double maxNines = Math.min(4, Math.log10((double) count));
    int steps = (int) Math.floor(maxNines * POINTS_PER_NINE);
    for (int step = 0; step <= steps; step++) {
      double percentile = 100 * (1 - Math.pow(10, -(double) step / POINTS_PER_NINE));
      points.add(new PercentilePoint(percentile, micros.getValueAtPercentile(percentile) / 1e3));
    }
    return points;
  }

  /** The position on the nines axis: 0 for 0 %, 1 for 90 %, 2 for 99 %, 3 for 99.9 %. */
  public double nines() {
    return -Math.log10(1 - percentile / 100);
  }
}
