package dev.penstock.mock;

/**
 * A log of (time, amount) events over the sliding window that ends now, with their running sum.
 *
 * <p>An event at {@code t} is inside the window at {@code now} when {@code now - 60 s < t <= now}:
 * two events exactly 60 s apart are never in the same window. Not thread-safe.
 */
final class WindowLog {
  static final long WINDOW_NANOS = 60_000_000_000L;

  private final LongRing times = new LongRing();
  private final LongRing amounts = new LongRing();
  private long sum;

  /** Drops the events that have left the window ending at {@code nowNanos}. */
  void expire(long nowNanos) {
    while (!times.isEmpty() && times.first() <= nowNanos - WINDOW_NANOS) {
      times.removeFirst();
      sum -= amounts.removeFirst();
    }
  }

  void add(long nowNanos, long amount) {
    times.addLast(nowNanos);
    amounts.addLast(amount);
    sum += amount;
  }

  /** The sum of the amounts in the window, as of the last {@link #expire}. */
  long sum() {
    return sum;
  }

  /**
   * How long until {@code amount} more fits under {@code limit} if nothing else arrives: the time
   * at which enough of the oldest events have left the window. Zero when it fits now; the caller
   * ensures {@code amount <= limit}.
   */
  long nanosUntilFits(long nowNanos, long amount, long limit) {
    long remaining = sum;
    for (int i = 0; remaining + amount > limit; i++) {
      remaining -= amounts.get(i);
      if (remaining + amount <= limit) {
        return times.get(i) + WINDOW_NANOS - nowNanos;
      }
    }
    return 0;
  }

  /** How long until the window is empty again, OpenAI's "resets to its initial state". */
  long nanosUntilEmpty(long nowNanos) {
    return times.isEmpty() ? 0 : times.last() + WINDOW_NANOS - nowNanos;
  }

  void clear() {
    times.clear();
    amounts.clear();
    sum = 0;
  }
}
