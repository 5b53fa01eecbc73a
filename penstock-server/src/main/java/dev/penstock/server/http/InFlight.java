package dev.penstock.server.http;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Counts the proxied requests being served, so that a stopping gateway can wait until none is left.
 * Thread-safe; the lock is held only to count.
 */
final class InFlight {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition idle = lock.newCondition();
  // Guarded by lock.
  private int count;

  void enter() {
    lock.lock();
    try {
      count++;
    } finally {
      lock.unlock();
    }
  }

  void exit() {
    lock.lock();
    try {
      if (--count == 0) {
        idle.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  int count() {
    lock.lock();
    try {
      return count;
    } finally {
      lock.unlock();
    }
  }

  /** Waits until no request is in flight, at most {@code nanos}; true if none is left. */
  boolean awaitIdle(long nanos) throws InterruptedException {
    lock.lock();
    try {
      long left = nanos;
      while (count > 0) {
        if (left <= 0) {
          return false;
        }
        left = idle.awaitNanos(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }
}
