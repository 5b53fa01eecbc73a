package dev.penstock.core.queue;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Requests waiting for capacity, in the order they will be served.
 *
 * <h2>Design</h2>
 *
 * <p>One level per {@link Priority}; a higher level is always served before a lower one. Within a
 * level, each tenant has its own FIFO, and tenants take turns (round-robin): a tenant that sends a
 * thousand requests does not make a tenant that sends one wait behind all of them. The turn passes
 * after every request served, so with two busy tenants at the same priority each gets half of the
 * capacity.
 *
 * <p>A request put back after an upstream rate-limit answer goes to the front of its tenant's FIFO
 * ({@link #addFirst}): it keeps its place. Removal of an arbitrary entry (a deadline that passed, a
 * client that left) is O(length of that tenant's FIFO).
 *
 * <p>Not thread-safe; the scheduler's lock guards it.
 */
public final class WaitQueue<T extends QueueEntry> {
  private final Level<T>[] levels;
  private int size;

  @SuppressWarnings({"unchecked", "rawtypes"}) // generic array creation
  public WaitQueue() {
    levels = new Level[Priority.values().length];
    for (int i = 0; i < levels.length; i++) {
      levels[i] = new Level<>();
    }
  }

  public void add(T entry) {
    levels[entry.priority().ordinal()].add(entry, false);
    size++;
  }

  /** Puts an entry back at the front of its tenant's FIFO. */
  public void addFirst(T entry) {
    levels[entry.priority().ordinal()].add(entry, true);
    size++;
  }

  /** The entry that will be served next, or null when empty. */
  public @Nullable T peek() {
    for (Level<T> level : levels) {
      T head = level.peek();
      if (head != null) {
        return head;
      }
    }
    return null;
  }

  /** Removes and returns the next entry, passing the turn to the next tenant. */
  public @Nullable T poll() {
    for (Level<T> level : levels) {
      T head = level.poll();
      if (head != null) {
        size--;
        return head;
      }
    }
    return null;
  }

  public boolean remove(T entry) {
    boolean removed = levels[entry.priority().ordinal()].remove(entry);
    if (removed) {
      size--;
    }
    return removed;
  }

  public int size() {
    return size;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  public int size(Priority priority) {
    return levels[priority.ordinal()].size;
  }

  /**
   * About how many waiting requests would be served before a new one of this priority and tenant:
   * all of higher priority, and at its own priority, one per round from each other tenant for as
   * many rounds as the tenant has requests ahead of it.
   */
  public long ahead(Priority priority, String tenant) {
    long ahead = 0;
    for (int i = 0; i < priority.ordinal(); i++) {
      ahead += levels[i].size;
    }
    return ahead + levels[priority.ordinal()].ahead(tenant);
  }

  private static final class Level<T extends QueueEntry> {
    private final Map<String, ArrayDeque<T>> byTenant = new HashMap<>();

    /** Tenants with waiting requests, in turn order; the head's turn is now. */
    private final ArrayDeque<String> turns = new ArrayDeque<>();

    private int size;

    void add(T entry, boolean first) {
      ArrayDeque<T> fifo = byTenant.get(entry.tenant());
      if (fifo == null) {
        fifo = new ArrayDeque<>();
        byTenant.put(entry.tenant(), fifo);
        if (first) {
          turns.addFirst(entry.tenant());
        } else {
          turns.addLast(entry.tenant());
        }
      }
      if (first) {
        fifo.addFirst(entry);
      } else {
        fifo.addLast(entry);
      }
      size++;
    }

    @Nullable T peek() {
      String tenant = turns.peekFirst();
      return tenant == null ? null : byTenant.get(tenant).peekFirst();
    }

    @Nullable T poll() {
      String tenant = turns.pollFirst();
      if (tenant == null) {
        return null;
      }
      ArrayDeque<T> fifo = byTenant.get(tenant);
      T entry = fifo.pollFirst();
      if (fifo.isEmpty()) {
        byTenant.remove(tenant);
      } else {
        turns.addLast(tenant);
      }
      size--;
      return entry;
    }

    boolean remove(T entry) {
      ArrayDeque<T> fifo = byTenant.get(entry.tenant());
      if (fifo == null || !fifo.remove(entry)) {
        return false;
      }
      if (fifo.isEmpty()) {
        byTenant.remove(entry.tenant());
        turns.remove(entry.tenant());
      }
      size--;
      return true;
    }

    long ahead(String tenant) {
      ArrayDeque<T> own = byTenant.get(tenant);
      long rounds = (own == null ? 0 : own.size()) + 1;
      long ahead = 0;
      for (Map.Entry<String, ArrayDeque<T>> e : byTenant.entrySet()) {
        ahead += e.getKey().equals(tenant) ? rounds - 1 : Math.min(e.getValue().size(), rounds);
      }
      return ahead;
    }
  }
}
