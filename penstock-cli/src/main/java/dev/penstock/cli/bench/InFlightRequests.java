package dev.penstock.cli.bench;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The requests sent and not yet settled. {@link #remove} is the single point that decides who
 * settles a request: the request's own thread when it ends, or the timeout sweep when it is
 * overdue, whichever removes it first. So every request is counted exactly once.
 */
final class InFlightRequests {

  /**
   * One outstanding request.
   *
   * @param number the request number
   * @param dueNanos when it was due (the origin of its latency)
   * @param deadlineNanos when it times out: sent time plus {@code --timeout}
   * @param thread the virtual thread running it, interrupted when it times out
   */
  record Entry(long number, long dueNanos, long deadlineNanos, Thread thread) {}

  private final ConcurrentHashMap<Long, Entry> entries = new ConcurrentHashMap<>();

  void add(Entry entry) {
    entries.put(entry.number(), entry);
  }

  /** Removes request {@code number}; present when the caller removed it and so must settle it. */
  Optional<Entry> remove(long number) {
    return Optional.ofNullable(entries.remove(number));
  }

  /** The entries whose deadline is at or before {@code nowNanos}; a snapshot. */
  List<Entry> overdue(long nowNanos) {
    return entries.values().stream().filter(e -> e.deadlineNanos() - nowNanos <= 0).toList();
  }

  int size() {
    return entries.size();
  }
}
