package dev.penstock.cli.bench;

/**
 * The open-loop driver: launches request {@code i} at {@code start + i / rate}, whatever the
 * answers do. Runs on one dedicated thread until the duration or the request cap is reached.
 */
final class OpenLoopScheduler {
  /*
   * Why open loop, and why latency from the due time
   * ------------------------------------------------
   * A closed-loop client that waits for each answer before sending the next slows down exactly
   * when the server does, so the queue that real users would build up never forms, and its
   * latency figures leave out the time those users would have waited ("coordinated omission").
   * Here the schedule is fixed in advance: request i is due at start + i/rate. Each due request
   * gets its own virtual thread, so a slow answer holds up nobody. Latency is measured from the
   * due time, not from the moment the request actually left, so if bench itself falls behind
   * (GC, CPU starvation) that delay shows up as latency too, and as send lag in the summary,
   * instead of silently thinning the load.
   *
   * Timing
   * ------
   * Due times are computed from i (never by adding intervals, which would accumulate rounding)
   * and the thread parks until each one. When it wakes late, it launches every request already
   * due at once, with its original due time: the schedule catches up instead of drifting.
   */
  private final Rate rate;
  private final long startNanos;
  private final long endNanos;
  private final long requestCap;
  private final BenchClock clock;
  private final Launcher launcher;

  /**
   * @param startNanos when request 0 is due
   * @param endNanos nothing due at or after this is sent
   * @param requestCap at most this many requests are launched
   */
  OpenLoopScheduler(
      Rate rate,
      long startNanos,
      long endNanos,
      long requestCap,
      BenchClock clock,
      Launcher launcher) {
    this.rate = rate;
    this.startNanos = startNanos;
    this.endNanos = endNanos;
    this.requestCap = requestCap;
    this.clock = clock;
    this.launcher = launcher;
  }

  /** When request {@code number} is due. */
  long dueNanos(long number) {
    return startNanos + rate.offsetNanos(number);
  }

  /**
   * Launches every request of the run, blocking until the last one is due.
   *
   * @return when sending ended: the end of the duration, or the due time of the request after the
   *     last one when the cap stopped it first
   */
  long drive() {
    for (long number = 0; number < requestCap; number++) {
      long due = dueNanos(number);
      if (due - endNanos >= 0) {
        return endNanos;
      }
      try {
        clock.parkUntil(due);
      } catch (InterruptedException e) {
        return clock.nanoTime(); // the run is being cancelled
      }
      launcher.launch(number, due);
    }
    long next = dueNanos(requestCap);
    return next - endNanos < 0 ? next : endNanos;
  }
}
