package dev.penstock.cli.bench;

import java.io.Console;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * How progress is shown on stderr: a bar redrawn in place when stderr is a terminal, plain lines
 * every few seconds otherwise. Decided once, at startup ({@link #detect}), and handed to the
 * commands, so that tests choose it.
 */
public enum ProgressStyle {
  BAR,
  LINES;

  /** A printer of this style on {@code out}. */
  public ProgressPrinter printer(PrintWriter out) {
    return this == BAR ? ProgressPrinter.redrawing(out) : ProgressPrinter.everyFewSeconds(out);
  }

  /**
   * Whether stderr is a terminal. Java only tells whether stdin and stdout are ({@link
   * Console#isTerminal()}), and {@code penstock bench --json > out.json} redirects stdout while
   * stderr stays on the screen, or {@code 2> log} the reverse; so on Linux ask the kernel what file
   * descriptor 2 is, and fall back to the console elsewhere.
   */
  public static ProgressStyle detect() {
    try {
      return ofStderrTarget(Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString());
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return isTerminal(System.console()) ? BAR : LINES;
    }
  }

  /** {@code isTerminal()} decides; the console is null only with -Djdk.console=java.base. */
  private static boolean isTerminal(@Nullable Console console) {
    return console != null && console.isTerminal();
  }

  /** The style for what {@code /proc/self/fd/2} links to: a tty device, a file, a pipe... */
  static ProgressStyle ofStderrTarget(String target) {
    return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") ? BAR : LINES;
  }
}
