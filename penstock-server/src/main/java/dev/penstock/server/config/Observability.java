package dev.penstock.server.config;

import java.util.Locale;

/**
 * What the gateway tells its operator (SPEC 12): {@code metrics:} and {@code logging:}.
 *
 * @param metrics whether requests are measured for {@code /metrics} and the {@code /ui} dashboard;
 *     off, both answer 404 and a request costs nothing to observe
 * @param logFormat how log lines look: {@code json} (one object per line), {@code plain} (for a
 *     terminal) or {@code auto} (plain when the process has a terminal, else json)
 * @param accessLog whether every request writes one line to the {@code penstock.access} logger
 * @param logBodies whether that line carries the client's request body (debugging only: prompts are
 *     often confidential)
 */
public record Observability(
    boolean metrics, LogFormat logFormat, boolean accessLog, boolean logBodies) {
  public static final Observability STANDARD = new Observability(true, LogFormat.AUTO, true, false);

  /** Everything off: the baseline of the instrumentation-cost benchmark. */
  public static final Observability OFF = new Observability(false, LogFormat.AUTO, false, false);

  /** The log line format. */
  public enum LogFormat {
    AUTO,
    PLAIN,
    JSON;

    public static LogFormat parse(String text) {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    }
  }
}
