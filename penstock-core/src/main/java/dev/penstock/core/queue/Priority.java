package dev.penstock.core.queue;

import java.util.Locale;

/**
 * A request's priority ({@code x-penstock-priority}); higher is always served first.
 *
 * <p>{@link #BATCH} is below every level a client can ask for: the lines of a batch (and other work
 * that can wait) run on capacity interactive requests leave. No header selects it.
 */
public enum Priority {
  HIGH,
  NORMAL,
  LOW,
  BATCH;

  /**
   * Parses {@code high}, {@code normal} or {@code low}, ignoring case ({@code batch} is internal).
   */
  public static Priority parse(String text) {
    return switch (text.trim().toLowerCase(Locale.ROOT)) {
      case "high" -> HIGH;
      case "normal" -> NORMAL;
      case "low" -> LOW;
      default ->
          throw new IllegalArgumentException(
              "priority must be high, normal or low, got '" + text + "'");
    };
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
