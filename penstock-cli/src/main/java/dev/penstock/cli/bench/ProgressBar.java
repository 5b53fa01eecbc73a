package dev.penstock.cli.bench;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * Draws a one-line progress bar on a terminal, redrawn in place with a carriage return. Meant for
 * stderr, so stdout keeps only the summary (and stays parseable with {@code --json}).
 */
public final class ProgressBar implements ProgressListener {
  private static final int BAR_WIDTH = 24;

  private final PrintWriter terminal;
  private int lastLength; // guarded by: only the run's calling thread draws

  public ProgressBar(PrintWriter terminal) {
    this.terminal = terminal;
  }

  @Override
  public void onProgress(ProgressSnapshot snapshot) {
    draw(render(snapshot));
  }

  @Override
  public void onFinished(ProgressSnapshot last) {
    draw(render(last));
    terminal.println();
    terminal.flush();
  }

  private void draw(String line) {
    // Pad with spaces so a shorter line fully covers the previous one.
    String padding = " ".repeat(Math.max(0, lastLength - line.length()));
    terminal.print("\r" + line + padding);
    terminal.flush();
    lastLength = line.length();
  }

  /** One line: the bar, time, and the counts that say whether things go well. */
  static String render(ProgressSnapshot s) {
    double byTime = (double) s.elapsedNanos() / s.durationNanos();
    double byCount = (double) (s.sent() + s.dropped()) / s.requestCap();
    double done = s.draining() ? 1 : Math.min(1, Math.max(byTime, byCount));
    int filled = (int) Math.round(done * BAR_WIDTH);
    // From the one map, not from the separate counters: those are read at slightly different
    // moments and could make the difference negative.
    long ended = s.statusCounts().values().stream().mapToLong(Long::longValue).sum();
    long errors = ended - s.succeeded() - s.rateLimited();
    double elapsedSeconds = s.elapsedNanos() / 1e9;
    return String.format(
        Locale.ROOT,
        "[%s%s] %s %5.1fs  sent %d  ok %d  429 %d  err %d  in flight %d  %.0f ok/min",
        "#".repeat(filled),
        "-".repeat(BAR_WIDTH - filled),
        s.draining() ? "draining" : String.format(Locale.ROOT, "%3.0f%%", done * 100),
        elapsedSeconds,
        s.sent(),
        s.succeeded(),
        s.rateLimited(),
        errors,
        s.inFlight(),
        elapsedSeconds > 0 ? s.succeeded() * 60 / elapsedSeconds : 0.0);
  }
}
