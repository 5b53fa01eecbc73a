package dev.penstock.mock;

import java.math.BigDecimal;

/**
 * Formats durations the way OpenAI writes them in {@code x-ratelimit-reset-*} headers and in "try
 * again in" messages: Go's {@code time.Duration} style at millisecond precision — {@code 20ms},
 * {@code 1s}, {@code 1.5s}, {@code 6m0s}, {@code 1h2m3.25s}.
 */
final class OpenAiDurations {
  private OpenAiDurations() {}

  static String format(long nanos) {
    // Round up: a client that waits the advertised time must find room.
    long millis = Math.max(0, (nanos + 999_999) / 1_000_000);
    if (millis == 0) {
      return "0s";
    }
    if (millis < 1000) {
      return millis + "ms";
    }
    long hours = millis / 3_600_000;
    long minutes = (millis / 60_000) % 60;
    String seconds = BigDecimal.valueOf(millis % 60_000, 3).stripTrailingZeros().toPlainString();
    StringBuilder out = new StringBuilder();
    if (hours > 0) {
      out.append(hours).append('h');
    }
    if (hours > 0 || minutes > 0) {
      out.append(minutes).append('m');
    }
    return out.append(seconds).append('s').toString();
  }
}
