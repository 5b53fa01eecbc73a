package dev.penstock.cli.bench;

import java.io.PrintWriter;
import java.time.Duration;

/**
 * Prints a plain line each time the elapsed time reaches the next multiple of the interval, and the
 * final line at the end: for a log, which keeps every line it is given.
 */
final class PeriodicPrinter implements ProgressPrinter {
  private final PrintWriter log;
  private final long intervalNanos;
  private long nextLineNanos; // guarded by: the caller (one thread at a time)

  PeriodicPrinter(PrintWriter log, Duration interval) {
    if (!interval.isPositive()) {
      throw new IllegalArgumentException("interval must be positive: " + interval);
    }
    this.log = log;
    this.intervalNanos = interval.toNanos();
    this.nextLineNanos = intervalNanos;
  }

  @Override
  public void update(long elapsedNanos, String line) {
    if (elapsedNanos < nextLineNanos) {
      return;
    }
    print(line);
    // The next multiple after now, not after the last line: a late update (a slow listener, a
    // paused JVM) must not bring a burst of catch-up lines.
    nextLineNanos = (elapsedNanos / intervalNanos + 1) * intervalNanos;
  }

  @Override
  public void finish(String line) {
    print(line);
  }

  private void print(String line) {
    log.println(line);
    log.flush();
  }
}
