package dev.penstock.mock;

import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The runtime state of one simulated key: its current spec (changeable through {@code /__keys}),
 * its limiter, and what the referee saw of the traffic sent to it.
 *
 * <p>Thread-safety: {@link #lock} guards the limiter and every field marked so; the decision and
 * the arrival statistics are updated in one critical section of a few hundred nanoseconds, never
 * across I/O. The answer counters are {@link LongAdder}s, updated without the lock.
 */
final class KeyState {
  private final ReentrantLock lock = new ReentrantLock();
  private volatile KeySpec spec;

  // Guarded by lock.
  private final SlidingWindowLimiter limiter = new SlidingWindowLimiter();
  private final WindowLog arrivals = new WindowLog();
  private final WindowLog arrivalTokens = new WindowLog();
  private long requests;
  private long accepted;
  private long rateLimitedRequests;
  private long rateLimitedTokens;
  private long tooLarge;
  private long peakRequests60s;
  private long peakTokens60s;
  private long currentSecond = Long.MIN_VALUE;
  private long arrivalsThisSecond;
  private long peakRequests1s;

  private final LongAdder succeeded = new LongAdder();
  private final LongAdder promptTokens = new LongAdder();
  private final LongAdder completionTokens = new LongAdder();
  private final Map<FaultKind, LongAdder> faults = new EnumMap<>(FaultKind.class);

  KeyState(KeySpec spec) {
    this.spec = spec;
    for (FaultKind kind : FaultKind.values()) {
      faults.put(kind, new LongAdder());
    }
  }

  KeySpec spec() {
    return spec;
  }

  void spec(KeySpec newSpec) {
    spec = newSpec;
  }

  /**
   * Records the arrival of a request charged {@code tokenCost} tokens and decides it against the
   * key's limits.
   */
  SlidingWindowLimiter.Decision admit(long nowNanos, long tokenCost) {
    KeySpec current = spec;
    lock.lock();
    try {
      recordArrival(nowNanos, tokenCost <= current.tpm() ? tokenCost : 0);
      SlidingWindowLimiter.Decision decision =
          limiter.tryAcquire(
              nowNanos, tokenCost, new SlidingWindowLimiter.Limits(current.rpm(), current.tpm()));
      switch (decision) {
        case SlidingWindowLimiter.Accepted a -> accepted++;
        case SlidingWindowLimiter.TooLarge t -> tooLarge++;
        case SlidingWindowLimiter.RateLimited r -> {
          if (r.limitType().equals("requests")) {
            rateLimitedRequests++;
          } else {
            rateLimitedTokens++;
          }
        }
      }
      return decision;
    } finally {
      lock.unlock();
    }
  }

  /** Records a request that arrived but is answered before the limiter (an account-level fault). */
  void arriveWithoutAdmission(long nowNanos, long tokenCost) {
    lock.lock();
    try {
      recordArrival(nowNanos, tokenCost);
    } finally {
      lock.unlock();
    }
  }

  private void recordArrival(long nowNanos, long tokenCost) {
    requests++;
    arrivals.expire(nowNanos);
    arrivalTokens.expire(nowNanos);
    arrivals.add(nowNanos, 1);
    arrivalTokens.add(nowNanos, tokenCost);
    peakRequests60s = Math.max(peakRequests60s, arrivals.sum());
    peakTokens60s = Math.max(peakTokens60s, arrivalTokens.sum());
    long second = Math.floorDiv(nowNanos, 1_000_000_000L);
    if (second != currentSecond) {
      currentSecond = second;
      arrivalsThisSecond = 0;
    }
    arrivalsThisSecond++;
    peakRequests1s = Math.max(peakRequests1s, arrivalsThisSecond);
  }

  void recordFault(FaultKind kind) {
    // The constructor puts a counter for every kind.
    Objects.requireNonNull(faults.get(kind), kind.wireName()).increment();
  }

  void recordSuccess(long prompt, long completion) {
    succeeded.increment();
    promptTokens.add(prompt);
    completionTokens.add(completion);
  }

  /** Forgets all traffic: the limiter's window and the statistics. */
  void reset() {
    lock.lock();
    try {
      limiter.clear();
      arrivals.clear();
      arrivalTokens.clear();
      requests = accepted = rateLimitedRequests = rateLimitedTokens = tooLarge = 0;
      peakRequests60s = peakTokens60s = peakRequests1s = arrivalsThisSecond = 0;
      currentSecond = Long.MIN_VALUE;
      succeeded.reset();
      promptTokens.reset();
      completionTokens.reset();
      faults.values().forEach(LongAdder::reset);
    } finally {
      lock.unlock();
    }
  }

  KeyStats stats() {
    KeySpec current = spec;
    lock.lock();
    try {
      Map<String, Long> faultCounts = new java.util.LinkedHashMap<>();
      faults.forEach((kind, count) -> faultCounts.put(kind.wireName(), count.sum()));
      return new KeyStats(
          current.name(),
          current.rpm(),
          current.tpm(),
          current.dead(),
          requests,
          accepted,
          succeeded.sum(),
          rateLimitedRequests + rateLimitedTokens,
          rateLimitedRequests,
          rateLimitedTokens,
          tooLarge,
          peakRequests60s,
          peakTokens60s,
          peakRequests1s,
          promptTokens.sum(),
          completionTokens.sum(),
          faultCounts);
    } finally {
      lock.unlock();
    }
  }
}
