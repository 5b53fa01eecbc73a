package dev.penstock.cli.admin;

import dev.penstock.cli.Main;
import dev.penstock.cli.bench.ProgressStyle;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;

/**
 * Runs {@code penstock} in-process as the launcher would, with a chosen environment and a clock
 * fixed at {@link #NOW}, and captures what it prints.
 */
final class AdminCli {
  static final Instant NOW = Instant.parse("2026-12-14T10:15:30.250Z");

  /** What one run returned and printed. */
  record Run(int exitCode, String out, String err) {}

  private AdminCli() {}

  static Run run(String... args) {
    return run(Map.of(), args);
  }

  static Run run(Map<String, String> environment, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exitCode =
        Main.commandLine(ProgressStyle.LINES, environment, Clock.fixed(NOW, ZoneOffset.UTC))
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true))
            .execute(args);
    return new Run(exitCode, out.toString(), err.toString());
  }
}
