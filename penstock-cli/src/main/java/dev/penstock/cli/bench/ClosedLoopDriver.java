package dev.penstock.cli.bench;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The closed-loop driver: keeps a fixed number of requests outstanding until the duration or the
 * request cap is reached. Runs on one dedicated thread.
 *
 * <p>A request's latency is measured from its launch, which is its due time here: a closed loop has
 * no schedule to fall behind.
 */
final class ClosedLoopDriver {
  private final Semaphore permits;
  private final long endNanos;
  private final long requestCap;
  private final BenchClock clock;
  private final Launcher launcher;

  /**
   * @param permits one per request slot; whoever settles a request releases one
   * @param endNanos no request is launched at or after this
   */
  ClosedLoopDriver(
      Semaphore permits, long endNanos, long requestCap, BenchClock clock, Launcher launcher) {
    this.permits = permits;
    this.endNanos = endNanos;
    this.requestCap = requestCap;
    this.clock = clock;
    this.launcher = launcher;
  }

  /**
   * Launches requests as slots free up, until the end or the cap.
   *
   * @return when sending ended
   */
  long drive() {
    try {
      for (long number = 0; number < requestCap; number++) {
        // The semaphore waits in real time, not on the bench clock, so this driver is tested
        // with the real clock. The wait is bounded so that a run whose requests all hang ends.
        long remaining = endNanos - clock.nanoTime();
        if (remaining <= 0 || !permits.tryAcquire(remaining, TimeUnit.NANOSECONDS)) {
          return endNanos;
        }
        long now = clock.nanoTime();
        if (now - endNanos >= 0) {
          return endNanos;
        }
        launcher.launch(number, now);
      }
    } catch (InterruptedException e) {
      // the run is being cancelled
    }
    return Math.min(clock.nanoTime(), endNanos);
  }
}
