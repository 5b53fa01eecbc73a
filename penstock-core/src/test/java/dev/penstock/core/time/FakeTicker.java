package dev.penstock.core.time;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A ticker that moves only when told to: for tests and virtual-time simulations. Thread-safe.
 *
 * <p>A test double, so it lives in test sources; other modules' tests get it from core's test-jar.
 */
public final class FakeTicker implements Ticker {
  private final AtomicLong nanos = new AtomicLong();

  @Override
  public long nanos() {
    return nanos.get();
  }

  public FakeTicker advance(Duration duration) {
    nanos.addAndGet(duration.toNanos());
    return this;
  }

  public FakeTicker advanceNanos(long delta) {
    nanos.addAndGet(delta);
    return this;
  }

  /** Moves to {@code target} if it is later than now; time never goes back. */
  public FakeTicker advanceTo(long target) {
    nanos.accumulateAndGet(target, Math::max);
    return this;
  }
}
