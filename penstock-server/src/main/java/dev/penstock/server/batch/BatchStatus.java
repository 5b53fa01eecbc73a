package dev.penstock.server.batch;

import java.util.Locale;

/** A batch's status, as OpenAI names it. */
public enum BatchStatus {
  VALIDATING,
  FAILED,
  IN_PROGRESS,
  FINALIZING,
  COMPLETED,
  EXPIRED,
  CANCELLING,
  CANCELLED;

  /** The name on the wire and in the database: {@code in_progress}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static BatchStatus fromWire(String name) {
    return valueOf(name.toUpperCase(Locale.ROOT));
  }

  /** Whether nothing more will happen to the batch. */
  public boolean terminal() {
    return this == FAILED || this == COMPLETED || this == EXPIRED || this == CANCELLED;
  }
}
