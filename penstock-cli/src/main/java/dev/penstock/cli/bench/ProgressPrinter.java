package dev.penstock.cli.bench;

import java.io.PrintWriter;
import java.time.Duration;

/**
 * Where a progress line goes: redrawn in place on a terminal, or, when the output is a log file or
 * a pipe, printed as a plain line every few seconds, so that a log holds a readable history rather
 * than megabytes of carriage returns.
 *
 * <p>Time is an argument ({@code elapsedNanos}, from the run's own clock), so a printer keeps no
 * clock of its own. Not thread-safe: callers that share one serialise their calls.
 */
public sealed interface ProgressPrinter permits RedrawingPrinter, PeriodicPrinter {

  /** How often {@link #everyFewSeconds} prints. */
  Duration LOG_INTERVAL = Duration.ofSeconds(5);

  /** Shows where the run stands; may print nothing (a periodic printer between its lines). */
  void update(long elapsedNanos, String line);

  /** Shows the final line and ends the output with a newline; call once, last. */
  void finish(String line);

  /** A line redrawn in place with a carriage return: for a terminal. */
  static ProgressPrinter redrawing(PrintWriter terminal) {
    return new RedrawingPrinter(terminal);
  }

  /** One plain line every {@link #LOG_INTERVAL} of elapsed time: for a log. */
  static ProgressPrinter everyFewSeconds(PrintWriter log) {
    return new PeriodicPrinter(log, LOG_INTERVAL);
  }
}
