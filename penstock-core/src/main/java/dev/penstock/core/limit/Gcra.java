package dev.penstock.core.limit;

/**
 * A Generic Cell Rate Algorithm schedule with no burst tolerance: each unit of cost books {@code
 * span / limit} of time, and the next request may start once the booked time has passed.
 *
 * <p>At a steady load this spaces requests evenly — {@code rpm: 200} means one request every 300 ms
 * (plus the guard's share), never a burst at the start of a minute. The schedule is paid
 * <em>after</em> the fact (a request is allowed when the previous ones' time is used up, then books
 * its own), so it alone does not bound every window for variable costs; {@link ReservationLog} does
 * that. Pure and not thread-safe.
 */
final class Gcra {
  /** Theoretical arrival time: when the booked time runs out. */
  private long tatNanos = Long.MIN_VALUE;

  /** When the next request may start (at most "long ago"). */
  long allowedAtNanos() {
    return tatNanos;
  }

  /**
   * Books {@code cost} units at {@code nanosPerUnit} each, starting now or when booked time ends.
   */
  void consume(long nowNanos, long cost, double nanosPerUnit) {
    long start = Math.max(tatNanos, nowNanos);
    tatNanos = start + (long) Math.ceil(cost * nanosPerUnit);
  }

  /** Gives back booked time, never into the past: a refund cannot create a burst. */
  void refund(long nowNanos, long cost, double nanosPerUnit) {
    if (tatNanos > nowNanos) {
      tatNanos = Math.max(nowNanos, tatNanos - (long) Math.floor(cost * nanosPerUnit));
    }
  }
}
