package dev.penstock.cli.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Per-second counters for the report's charts: requests sent (by due time) and completed (by end
 * time) per outcome kind, and tokens. Lock-free; events past the last second land in the last.
 */
final class Timeline {
  private final long startNanos;
  private final AtomicLongArray sent;
  private final AtomicLongArray ok;
  private final AtomicLongArray rateLimited;
  private final AtomicLongArray errors;
  private final AtomicLongArray tokens;

  Timeline(long startNanos, int seconds) {
    this.startNanos = startNanos;
    this.sent = new AtomicLongArray(seconds);
    this.ok = new AtomicLongArray(seconds);
    this.rateLimited = new AtomicLongArray(seconds);
    this.errors = new AtomicLongArray(seconds);
    this.tokens = new AtomicLongArray(seconds);
  }

  void sent(long dueNanos) {
    sent.incrementAndGet(index(dueNanos));
  }

  void completed(long endNanos, Outcome.Kind kind, long tokenCount) {
    int index = index(endNanos);
    switch (kind) {
      case OK -> ok.incrementAndGet(index);
      case RATE_LIMITED -> rateLimited.incrementAndGet(index);
      case ERROR -> errors.incrementAndGet(index);
    }
    tokens.addAndGet(index, tokenCount);
  }

  /** The seconds up to and including {@code endNanos}. */
  List<TimelineSecond> seconds(long endNanos) {
    int last = index(endNanos);
    List<TimelineSecond> seconds = new ArrayList<>(last + 1);
    for (int i = 0; i <= last; i++) {
      seconds.add(
          new TimelineSecond(
              i, sent.get(i), ok.get(i), rateLimited.get(i), errors.get(i), tokens.get(i)));
    }
    return seconds;
  }

  private int index(long nanos) {
    long second = Math.max(0, nanos - startNanos) / 1_000_000_000L;
    return (int) Math.min(second, sent.length() - 1);
  }
}
