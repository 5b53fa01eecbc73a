package dev.penstock.cli.bench;

import java.util.concurrent.locks.LockSupport;

/**
 * The monotonic time source bench measures and waits with; tests substitute a fake that jumps to
 * each deadline instead of waiting.
 */
interface BenchClock {

  /** Monotonic nanoseconds, comparable only with each other (like {@link System#nanoTime()}). */
  long nanoTime();

  /**
   * Blocks until {@link #nanoTime()} reaches {@code deadlineNanos}; returns at once when it has.
   *
   * @throws InterruptedException when the waiting thread is interrupted
   */
  void parkUntil(long deadlineNanos) throws InterruptedException;

  /** The real clock: {@link System#nanoTime()} and {@link LockSupport#parkNanos(long)}. */
  static BenchClock system() {
    return SystemClock.INSTANCE;
  }

  /** The real clock. */
  enum SystemClock implements BenchClock {
    INSTANCE;

    @Override
    public long nanoTime() {
      return System.nanoTime();
    }

    @Override
    public void parkUntil(long deadlineNanos) throws InterruptedException {
      long remaining;
      // parkNanos may return early (spuriously, or on unpark), so loop until the deadline.
      while ((remaining = deadlineNanos - System.nanoTime()) > 0) {
        LockSupport.parkNanos(remaining);
        if (Thread.interrupted()) {
          throw new InterruptedException();
        }
      }
    }
  }
}
