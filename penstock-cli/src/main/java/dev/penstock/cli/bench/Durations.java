package dev.penstock.cli.bench;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses and prints the short durations of the command line: {@code 500ms}, {@code 90s}. */
public final class Durations {
  private static final Pattern SYNTAX =
      Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|sec|m|min|h)?");

  private Durations() {}

  /** Parses {@code 500ms}, {@code 90s}, {@code 2m}, {@code 1.5h}; a plain number is seconds. */
  public static Duration parse(String text) {
    Matcher matcher = SYNTAX.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!matcher.matches()) {
      throw new IllegalArgumentException(
          "invalid duration '" + text + "': expected e.g. 500ms, 90s, 2m or 1h");
    }
    String unit = matcher.group(2) == null ? "s" : matcher.group(2);
    long unitMillis =
        switch (unit) {
          case "ms" -> 1;
          case "s", "sec" -> 1_000;
          case "m", "min" -> 60_000;
          default -> 3_600_000;
        };
    // BigDecimal so that "0.1s" is exactly 100 ms, not 99.999... ms.
    BigDecimal millis = new BigDecimal(matcher.group(1)).multiply(BigDecimal.valueOf(unitMillis));
    return Duration.ofNanos(millis.movePointRight(6).longValue());
  }

  /** Prints a duration the way {@link #parse} reads it back: {@code 500ms}, {@code 90s}. */
  public static String format(Duration duration) {
    long millis = duration.toMillis();
    if (millis % 1_000 != 0) {
      return millis + "ms";
    }
    long seconds = millis / 1_000;
    return seconds % 60 == 0 && seconds >= 60 ? seconds / 60 + "m" : seconds + "s";
  }
}
