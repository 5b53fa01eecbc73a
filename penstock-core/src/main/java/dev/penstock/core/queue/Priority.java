package dev.penstock.core.queue;

import java.util.Locale;

/** A request's priority ({@code x-penstock-priority}); higher is always served first. */
public enum Priority {
  HIGH,
  NORMAL,
  LOW;

  /** Parses {@code high}, {@code normal} or {@code low}, ignoring case. */
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
