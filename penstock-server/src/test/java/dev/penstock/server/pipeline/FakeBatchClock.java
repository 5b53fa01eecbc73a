package dev.penstock.server.pipeline;

import dev.penstock.core.time.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * A {@link BatchClock} on a {@link FakeTicker}: nothing happens until the test {@link #advance}s it
 * — then the tasks that came due start, each on a virtual thread of its own, and every parked
 * thread wakes to look at the new time. A task due already starts at once. Thread-safe.
 */
final class FakeBatchClock implements BatchClock {
  private record Alarm(long atNanos, Runnable task) {}

  private final FakeTicker ticker;
  private final List<Alarm> alarms = new ArrayList<>(); // guarded by this
  private final Set<Thread> parked = ConcurrentHashMap.newKeySet();

  FakeBatchClock(FakeTicker ticker) {
    this.ticker = ticker;
  }

  @Override
  public long nanos() {
    return ticker.nanos();
  }

  @Override
  public void parkUntil(Object blocker, long atNanos) {
    if (ticker.nanos() >= atNanos) {
      return;
    }
    Thread self = Thread.currentThread();
    parked.add(self);
    try {
      LockSupport.park(blocker); // an advance() after the add leaves a permit: no wake is lost
    } finally {
      parked.remove(self);
    }
  }

  @Override
  public void at(long atNanos, Runnable task) {
    if (atNanos <= ticker.nanos()) {
      Thread.ofVirtual().name("batch-task").start(task);
      return;
    }
    synchronized (this) {
      alarms.add(new Alarm(atNanos, task));
    }
  }

  /** Moves time on; starts the tasks now due and wakes every parked thread. */
  void advance(Duration duration) {
    ticker.advance(duration);
    long now = ticker.nanos();
    List<Alarm> due = new ArrayList<>();
    synchronized (this) {
      alarms.removeIf(a -> a.atNanos() <= now && due.add(a));
    }
    due.forEach(a -> Thread.ofVirtual().name("batch-task").start(a.task()));
    parked.forEach(LockSupport::unpark);
  }

  /** How many threads are parked on this clock now (members waiting in their batches). */
  int parked() {
    return parked.size();
  }

  /** How many tasks wait for their time. */
  synchronized int pending() {
    return alarms.size();
  }
}
