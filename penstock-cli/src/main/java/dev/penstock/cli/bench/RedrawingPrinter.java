package dev.penstock.cli.bench;

import java.io.PrintWriter;

/** Redraws one line in place with a carriage return, about ten times a second: for a terminal. */
final class RedrawingPrinter implements ProgressPrinter {
  private final PrintWriter terminal;
  private int lastLength; // guarded by: the caller (one thread at a time)

  RedrawingPrinter(PrintWriter terminal) {
    this.terminal = terminal;
  }

  @Override
  public void update(long elapsedNanos, String line) {
    draw(line);
  }

  @Override
  public void finish(String line) {
    draw(line);
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
}
