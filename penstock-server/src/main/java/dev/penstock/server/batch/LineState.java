package dev.penstock.server.batch;

import java.util.Locale;

/** Where one input line of a batch stands. */
public enum LineState {
  /** Not yet sent, or to be tried again (after {@code not_before}). */
  PENDING,
  /** Taken by a worker until its claim expires. */
  CLAIMED,
  /** Answered: its output line is stored. */
  DONE,
  /** Failed for good: its error line is stored. */
  FAILED;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static LineState fromWire(String name) {
    return valueOf(name.toUpperCase(Locale.ROOT));
  }
}
