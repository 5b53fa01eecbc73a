package dev.penstock.server.telemetry;

import java.util.Locale;

/** How a request ended, from the operator's point of view: the {@code outcome} label. */
public enum Outcome {
  /** A 2xx answer that was delivered whole. */
  OK,
  /** The upstreams failed it: no attempt succeeded, or a stream broke after it began. */
  UPSTREAM_ERROR,
  /** Penstock refused it for capacity: the deadline, a full queue, no deployment, shutdown. */
  OVERLOADED,
  /** The client's mistake: bad input, unknown model, or an upstream 4xx passed through. */
  CLIENT_ERROR,
  /** The client left (or stopped reading) before its answer was complete. */
  CLIENT_CLOSED;

  private final String label = name().toLowerCase(Locale.ROOT);

  public String label() {
    return label;
  }

  /** The outcome a status implies when nothing more specific is known. */
  static Outcome ofStatus(int status) {
    if (status >= 200 && status < 300) {
      return OK;
    }
    return status >= 400 && status < 500 ? CLIENT_ERROR : UPSTREAM_ERROR;
  }
}
