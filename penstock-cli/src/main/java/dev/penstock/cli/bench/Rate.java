package dev.penstock.cli.bench;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A request rate for the open loop: {@code requests} per {@code unitNanos}.
 *
 * <p>The unit the user typed is kept (1500/min stays 1500 per minute rather than 25 per second) so
 * that reports echo the configuration in the user's own terms.
 *
 * @param requests how many requests per unit; positive and finite
 * @param unitNanos the unit in nanoseconds: a second, a minute or an hour
 */
public record Rate(double requests, long unitNanos) {
  static final long SECOND_NANOS = 1_000_000_000L;
  static final long MINUTE_NANOS = 60 * SECOND_NANOS;
  static final long HOUR_NANOS = 60 * MINUTE_NANOS;

  private static final Pattern SYNTAX =
      Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(?:/\\s*(s|sec|m|min|h|hr|hour))?");

  public Rate {
    if (!(requests > 0) || Double.isInfinite(requests)) {
      throw new IllegalArgumentException("rate must be positive, got " + requests);
    }
    if (unitNanos != SECOND_NANOS && unitNanos != MINUTE_NANOS && unitNanos != HOUR_NANOS) {
      throw new IllegalArgumentException("rate unit must be a second, a minute or an hour");
    }
  }

  public static Rate perSecond(double requests) {
    return new Rate(requests, SECOND_NANOS);
  }

  public static Rate perMinute(double requests) {
    return new Rate(requests, MINUTE_NANOS);
  }

  /**
   * Parses {@code 20/s}, {@code 1500/m}, {@code 1500/min}, {@code 3000/h}, or a plain number, which
   * means per second.
   */
  public static Rate parse(String text) {
    Matcher matcher = SYNTAX.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!matcher.matches()) {
      throw new IllegalArgumentException(
          "invalid rate '" + text + "': expected e.g. 20/s, 1500/m, 1500/min or 20");
    }
    double requests = Double.parseDouble(matcher.group(1));
    String unit = matcher.group(2) == null ? "s" : matcher.group(2);
    long unitNanos =
        switch (unit) {
          case "s", "sec" -> SECOND_NANOS;
          case "m", "min" -> MINUTE_NANOS;
          default -> HOUR_NANOS;
        };
    return new Rate(requests, unitNanos);
  }

  public double perSecond() {
    return requests * SECOND_NANOS / unitNanos;
  }

  public double perMinute() {
    return requests * MINUTE_NANOS / unitNanos;
  }

  /**
   * When request {@code number} (counting from 0) is due, as an offset from the start. Computed
   * from the number rather than by adding intervals, so rounding never accumulates.
   */
  public long offsetNanos(long number) {
    return (long) Math.floor(number * (unitNanos / requests));
  }

  /** The rate as the user would type it, e.g. {@code 1500/min} or {@code 20/s}. */
  @Override
  public String toString() {
    String count =
        requests == Math.rint(requests)
            ? Long.toString((long) requests)
            : String.format(Locale.ROOT, "%s", requests);
    String unit = unitNanos == SECOND_NANOS ? "s" : unitNanos == MINUTE_NANOS ? "min" : "h";
    return count + "/" + unit;
  }
}
