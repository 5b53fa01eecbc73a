package dev.penstock.server.telemetry;

import java.util.Locale;

/** Why an attempt failed and was retried: the {@code reason} label of the retries counter. */
public enum RetryReason {
  /** The connection could not be made; the upstream never saw the request. */
  UNREACHABLE,
  /** No answer within the deployment's read timeout. */
  TIMEOUT,
  /** A 500, 502, 503 or 504. */
  STATUS_5XX,
  /** The connection broke while the answer was read. */
  BROKEN,
  /** A 2xx whose body is not JSON. */
  MALFORMED,
  /** A status that is no answer: a 1xx or 3xx as the final status, or none that is valid. */
  INVALID_STATUS,
  /** A stream that ended before its first event. */
  STREAM_INCOMPLETE,
  /** The deployment was removed by a reload while the request held it. */
  REMOVED;

  private final String label = name().toLowerCase(Locale.ROOT);

  public String label() {
    return label;
  }
}
