package dev.penstock.core;

import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import org.jspecify.annotations.Nullable;

/**
 * One request's hold on deployment capacity, from its admission until it ends, across every
 * attempt: it carries the reservation of the attempt in progress, and each way an attempt can end
 * settles that reservation and, for a retry or a requeue, takes the next one.
 *
 * <h2>Contract</h2>
 *
 * <p>Open it with {@link Admissions#scope} in a try-with-resources: {@link #close} settles a
 * reservation its request left open — whatever path it took out, an exception included — and
 * reports it as a leak ({@link Admissions#leakedReservations}). On the paths the request knows, it
 * settles explicitly; a leak is a bug that this turns from "a deployment loses capacity for good"
 * into a counted, logged event.
 *
 * <p>After {@link #settle} or {@link #fail} the scope holds nothing; after a failed {@link #retry}
 * or {@link #requeue} (an {@link AdmissionRejectedException}) too. Waits inside it are withdrawn
 * when the request's {@link CancelSignal} fires.
 *
 * <p>Used by the request's own thread only; not thread-safe.
 */
public final class ReservationScope implements AutoCloseable {
  private final Admissions admissions;
  private final CancelSignal cancel;
  private @Nullable Reservation current;

  ReservationScope(Admissions admissions, Reservation first, CancelSignal cancel) {
    this.admissions = admissions;
    this.current = first;
    this.cancel = cancel;
  }

  /** The reservation of the attempt in progress. */
  public Reservation reservation() {
    Reservation r = current;
    if (r == null) {
      throw new IllegalStateException("the scope holds no reservation: it was settled");
    }
    return r;
  }

  /** Whether an attempt's reservation is held (not yet settled). */
  public boolean holds() {
    return current != null;
  }

  /** The attempt ended with an answer (or was never sent); see {@link Scheduler#settle}. */
  public void settle(
      Settlement settlement,
      long promptTokens,
      long completionTokens,
      RateLimitObservation observation) {
    Reservation r = reservation();
    current = null;
    admissions.settle(r, settlement, promptTokens, completionTokens, observation);
  }

  /**
   * The attempt ended because its client left: no verdict on the deployment; see {@link
   * Scheduler#abandon}.
   */
  public void leave(Settlement settlement, long promptTokens, long completionTokens) {
    Reservation r = reservation();
    current = null;
    admissions.leave(r, settlement, promptTokens, completionTokens);
  }

  /** The attempt failed and will not be retried (a stream broke); see {@link Scheduler#fail}. */
  public void fail(Settlement settlement, long promptTokens, long completionTokens) {
    Reservation r = reservation();
    current = null;
    admissions.fail(r, settlement, promptTokens, completionTokens);
  }

  /**
   * The attempt failed: settles it against its deployment's circuit and waits for the next one.
   *
   * @throws AdmissionRejectedException when there is no next attempt ({@code FAILED}, {@code
   *     CANCELLED}, ...); the scope then holds nothing
   */
  public Reservation retry(Settlement settlement) throws InterruptedException {
    Reservation r = reservation();
    current = null;
    current = admissions.retry(r, settlement, cancel);
    return current;
  }

  /**
   * The upstream refused the attempt for its own rate limit: cools the deployment down and waits,
   * at the front of the queue, for the next start.
   *
   * @throws AdmissionRejectedException when it cannot start again; the scope then holds nothing
   */
  public Reservation requeue(long coolDownUntilNanos, RateLimitObservation observation)
      throws InterruptedException {
    Reservation r = reservation();
    current = null;
    current = admissions.reacquire(r, coolDownUntilNanos, observation, cancel);
    return current;
  }

  /** Settles a reservation still held — a leak, counted and reported. */
  @Override
  public void close() {
    Reservation r = current;
    current = null;
    if (r != null) {
      admissions.abandonIfOpen(r);
    }
  }
}
