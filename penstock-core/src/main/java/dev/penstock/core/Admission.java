package dev.penstock.core;

/** The scheduler's answer to a submitted request. */
public sealed interface Admission {
  /** A deployment had room: the request may start now. */
  record Admitted(Reservation reservation) implements Admission {}

  /** No room now, but the request can start before its deadline: it waits. */
  record Queued(Ticket ticket) implements Admission {}

  /**
   * The request will not be served.
   *
   * @param retryAfterNanos how long the client should wait before trying again (0 = pointless)
   */
  record Rejected(Reason reason, long retryAfterNanos, String message) implements Admission {}

  /** Why a request was rejected. */
  enum Reason {
    /** It cannot start before its deadline: the pool is saturated. */
    OVERLOADED,
    /** The wait queue is at its configured length. */
    QUEUE_FULL,
    /** Its token charge exceeds every deployment's TPM limit: it can never run. */
    TOO_LARGE,
    /** No deployment serves the model (unknown, or every deployment and fallback disabled). */
    NO_DEPLOYMENT,
    /** Its attempts failed and no retry is left (or none could finish before its deadline). */
    FAILED,
    /** The scheduler is shutting down. */
    SHUTTING_DOWN,
    /** Its client withdrew it while it waited (the client left): nobody is there to answer. */
    CANCELLED
  }
}
