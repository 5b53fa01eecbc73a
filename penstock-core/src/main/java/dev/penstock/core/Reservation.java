package dev.penstock.core;

import dev.penstock.core.limit.Charge;
import dev.penstock.core.limit.DeploymentLimiter;

/**
 * A request's claim on one deployment: 1 request and its estimated tokens, charged when it was
 * admitted. It must be settled exactly once — {@link Scheduler#settle} when the attempt ends, or
 * {@link Scheduler#requeue} after an upstream rate-limit answer — and a second settlement throws: a
 * reservation leaked or settled twice would corrupt the deployment's window.
 */
public final class Reservation {
  private final Ticket ticket;
  private final DeploymentLimiter limiter;
  private final Charge charge;
  private final long admittedNanos;
  private boolean settled;

  Reservation(Ticket ticket, DeploymentLimiter limiter, Charge charge, long admittedNanos) {
    this.ticket = ticket;
    this.limiter = limiter;
    this.charge = charge;
    this.admittedNanos = admittedNanos;
  }

  public Ticket ticket() {
    return ticket;
  }

  /** The deployment's name (never its credentials). */
  public String deployment() {
    return limiter.name();
  }

  DeploymentLimiter limiter() {
    return limiter;
  }

  public Charge charge() {
    return charge;
  }

  public long admittedNanos() {
    return admittedNanos;
  }

  /** Time spent waiting for capacity, from submission to admission. */
  public long queueNanos() {
    return admittedNanos - ticket.submittedNanos();
  }

  void markSettled() {
    if (settled) {
      throw new IllegalStateException("reservation of " + ticket + " settled twice");
    }
    settled = true;
  }

  public boolean settled() {
    return settled;
  }
}
