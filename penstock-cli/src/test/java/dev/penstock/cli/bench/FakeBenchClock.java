package dev.penstock.cli.bench;

/** A bench clock that never waits: parking jumps time forward to the deadline. One thread only. */
final class FakeBenchClock implements BenchClock {
  private long nowNanos;

  FakeBenchClock(long startNanos) {
    this.nowNanos = startNanos;
  }

  @Override
  public long nanoTime() {
    return nowNanos;
  }

  @Override
  public void parkUntil(long deadlineNanos) {
    nowNanos = Math.max(nowNanos, deadlineNanos);
  }

  void advanceMillis(long millis) {
    nowNanos += millis * 1_000_000;
  }
}
