package dev.penstock.cli.bench;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * Shows a bench run's progress on stderr, so stdout keeps only the summary (and stays parseable
 * with {@code --json}): on a terminal a bar redrawn in place, in a log a plain line every few
 * seconds with the same counts.
 *
 * <p>Called on the run's calling thread only (see {@link ProgressListener}).
 */
public final class BenchProgress implements ProgressListener {
  private static final int BAR_WIDTH = 24;

  private final ProgressPrinter printer;
  private final boolean bar;

  private BenchProgress(ProgressPrinter printer, boolean bar) {
    this.printer = printer;
    this.bar = bar;
  }

  /** The bar, redrawn in place about ten times a second. */
  public static BenchProgress bar(PrintWriter terminal) {
    return new BenchProgress(ProgressPrinter.redrawing(terminal), true);
  }

  /** A plain line every {@link ProgressPrinter#LOG_INTERVAL}, and one at the end. */
  public static BenchProgress lines(PrintWriter log) {
    return new BenchProgress(ProgressPrinter.everyFewSeconds(log), false);
  }

  /** The bar on a terminal, lines otherwise. */
  public static BenchProgress of(ProgressStyle style, PrintWriter err) {
    return style == ProgressStyle.BAR ? bar(err) : lines(err);
  }

  @Override
  public void onProgress(ProgressSnapshot snapshot) {
    printer.update(snapshot.elapsedNanos(), render(snapshot, false));
  }

  @Override
  public void onFinished(ProgressSnapshot last) {
    printer.finish(render(last, true));
  }

  private String render(ProgressSnapshot s, boolean finished) {
    return bar ? renderBar(s, finished) : "penstock bench: " + counts(s, finished);
  }

  /** One line: the bar, then the counts. */
  static String renderBar(ProgressSnapshot s, boolean finished) {
    int filled = (int) Math.round(done(s, finished) * BAR_WIDTH);
    return "[%s%s] %s"
        .formatted("#".repeat(filled), "-".repeat(BAR_WIDTH - filled), counts(s, finished));
  }

  /** Time and the counts that say whether things go well. */
  static String counts(ProgressSnapshot s, boolean finished) {
    // From the one map, not from the separate counters: those are read at slightly different
    // moments and could make the difference negative.
    long ended = s.statusCounts().values().stream().mapToLong(Long::longValue).sum();
    long errors = ended - s.succeeded() - s.rateLimited();
    double elapsedSeconds = s.elapsedNanos() / 1e9;
    String stage =
        finished
            ? "done"
            : s.draining()
                ? "draining"
                : String.format(Locale.ROOT, "%3.0f%%", done(s, false) * 100);
    return String.format(
        Locale.ROOT,
        "%s %5.1fs  sent %d  ok %d  429 %d  err %d  in flight %d  %.0f ok/min",
        stage,
        elapsedSeconds,
        s.sent(),
        s.succeeded(),
        s.rateLimited(),
        errors,
        s.inFlight(),
        elapsedSeconds > 0 ? s.succeeded() * 60 / elapsedSeconds : 0.0);
  }

  /** The share done, 0 to 1: by time or by the request cap, whichever is further. */
  private static double done(ProgressSnapshot s, boolean finished) {
    if (finished || s.draining()) {
      return 1;
    }
    double byTime = (double) s.elapsedNanos() / s.durationNanos();
    double byCount = (double) (s.sent() + s.dropped()) / s.requestCap();
    return Math.min(1, Math.max(byTime, byCount));
  }
}
