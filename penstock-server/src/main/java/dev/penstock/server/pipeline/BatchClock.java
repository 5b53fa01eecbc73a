package dev.penstock.server.pipeline;

import dev.penstock.core.time.Ticker;
import java.util.concurrent.locks.LockSupport;

/**
 * Time as the {@link EmbeddingBatcher} waits on it: a thread parks until an instant of the ticker,
 * a task runs on a thread of its own at one. Tests use a fake that moves a fake ticker and wakes
 * what is due, so that no test waits in real time.
 */
interface BatchClock {
  /** Now, in ticker nanos. */
  long nanos();

  /**
   * Parks the calling thread until about {@code atNanos}, or until it is unparked; it may return
   * sooner, so the caller checks again what it waits for.
   */
  void parkUntil(Object blocker, long atNanos);

  /** Runs {@code task} on a new thread at {@code atNanos}, or at once when that has passed. */
  void at(long atNanos, Runnable task);

  /** Real time on {@code ticker}: parks for the time left, tasks on virtual threads. */
  static BatchClock of(Ticker ticker) {
    return new BatchClock() {
      @Override
      public long nanos() {
        return ticker.nanos();
      }

      @Override
      public void parkUntil(Object blocker, long atNanos) {
        long left = atNanos - ticker.nanos();
        if (left > 0) {
          LockSupport.parkNanos(blocker, left);
        }
      }

      @Override
      public void at(long atNanos, Runnable task) {
        Thread.ofVirtual()
            .name("penstock-embedding-batch")
            .start(
                () -> {
                  for (long left = atNanos - ticker.nanos();
                      left > 0;
                      left = atNanos - ticker.nanos()) {
                    LockSupport.parkNanos(this, left);
                  }
                  task.run();
                });
      }
    };
  }
}
