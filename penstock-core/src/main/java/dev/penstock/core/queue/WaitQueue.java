package dev.penstock.core.queue;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.SequencedSet;
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
 * client that left) is O(1): each FIFO, and the turn order, is a {@link LinkedHashSet}, which keeps
 * insertion order at both ends and finds an element by hash. Entries are therefore compared with
 * {@code equals}: two entries waiting at once must not be equal (the scheduler's tickets compare by
 * identity).
 *
 * <p>Not thread-safe; the scheduler's lock guards it.
 */
public final class WaitQueue<T extends QueueEntry> {
  /** One level per priority; an EnumMap iterates in declaration order, highest priority first. */
  private final EnumMap<Priority, Level<T>> levels = new EnumMap<>(Priority.class);

  private int size;

  public WaitQueue() {
    for (Priority priority : Priority.values()) {
      levels.put(priority, new Level<>());
    }
  }

  public void add(T entry) {
    level(entry.priority()).add(entry, false);
    size++;
  }

  /** Puts an entry back at the front of its tenant's FIFO. */
  public void addFirst(T entry) {
    level(entry.priority()).add(entry, true);
    size++;
  }

  private Level<T> level(Priority priority) {
    Level<T> level = levels.get(priority);
    if (level == null) {
      throw new AssertionError("no level for " + priority); // the constructor makes every level
    }
    return level;
  }

  /** The entry that will be served next, or null when empty. */
  public @Nullable T peek() {
    for (Level<T> level : levels.values()) {
      T head = level.peek();
      if (head != null) {
        return head;
      }
    }
    return null;
  }

  /** Removes and returns the next entry, passing the turn to the next tenant. */
  public @Nullable T poll() {
    for (Level<T> level : levels.values()) {
      T head = level.poll();
      if (head != null) {
        size--;
        return head;
      }
    }
    return null;
  }

  public boolean remove(T entry) {
    boolean removed = level(entry.priority()).remove(entry);
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
    return level(priority).size;
  }

  /** How many entries of a higher priority than {@code priority} wait. */
  public int waitingAbove(Priority priority) {
    int above = 0;
    for (Map.Entry<Priority, Level<T>> e : levels.entrySet()) {
      if (e.getKey().compareTo(priority) < 0) {
        above += e.getValue().size;
      }
    }
    return above;
  }

  /** Every waiting entry, in no particular order (for invariant checks and views). */
  public void forEach(java.util.function.Consumer<? super T> action) {
    for (Level<T> level : levels.values()) {
      level.byTenant.values().forEach(fifo -> fifo.forEach(action));
    }
  }

  /**
   * Checks the queue's own bookkeeping: sizes match the entries, every tenant with entries has a
   * turn and no other does, each entry sits in its own level and tenant's FIFO.
   *
   * @throws IllegalStateException naming the first broken invariant
   */
  public void checkInvariants() {
    int total = 0;
    for (Map.Entry<Priority, Level<T>> l : levels.entrySet()) {
      Priority priority = l.getKey();
      Level<T> level = l.getValue();
      int count = 0;
      for (Map.Entry<String, LinkedHashSet<T>> e : level.byTenant.entrySet()) {
        check(!e.getValue().isEmpty(), "an empty FIFO is kept for tenant " + e.getKey());
        check(level.turns.contains(e.getKey()), "tenant " + e.getKey() + " has no turn");
        for (T entry : e.getValue()) {
          check(entry.priority() == priority, entry + " sits in the wrong priority level");
          check(entry.tenant().equals(e.getKey()), entry + " sits in another tenant's FIFO");
        }
        count += e.getValue().size();
      }
      check(level.turns.size() == level.byTenant.size(), "turns and tenants differ");
      check(
          level.size == count,
          "level " + priority + " counts " + level.size + " but holds " + count);
      total += count;
    }
    check(size == total, "size " + size + " but " + total + " entries");
  }

  private static void check(boolean condition, String message) {
    if (!condition) {
      throw new IllegalStateException(message);
    }
  }

  /**
   * About how many waiting requests would be served before a new one of this priority and tenant:
   * all of higher priority, and at its own priority, one per round from each other tenant for as
   * many rounds as the tenant has requests ahead of it.
   */
  public long ahead(Priority priority, String tenant) {
    return waitingAbove(priority) + level(priority).ahead(tenant);
  }

  private static final class Level<T extends QueueEntry> {
    private final Map<String, LinkedHashSet<T>> byTenant = new HashMap<>();

    /** Tenants with waiting requests, in turn order; the head's turn is now. */
    private final LinkedHashSet<String> turns = new LinkedHashSet<>();

    private int size;

    void add(T entry, boolean first) {
      LinkedHashSet<T> fifo = byTenant.get(entry.tenant());
      if (fifo == null) {
        fifo = new LinkedHashSet<>();
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
      return turns.isEmpty() ? null : fifo(turns.getFirst()).getFirst();
    }

    @Nullable T poll() {
      if (turns.isEmpty()) {
        return null;
      }
      String tenant = turns.removeFirst();
      SequencedSet<T> fifo = fifo(tenant);
      T entry = fifo.removeFirst();
      if (fifo.isEmpty()) {
        byTenant.remove(tenant);
      } else {
        turns.addLast(tenant);
      }
      size--;
      return entry;
    }

    /** The FIFO of a tenant that has a turn: every such tenant has a non-empty one. */
    private SequencedSet<T> fifo(String tenant) {
      LinkedHashSet<T> fifo = byTenant.get(tenant);
      if (fifo == null) {
        throw new IllegalStateException("tenant " + tenant + " has a turn but no FIFO");
      }
      return fifo;
    }

    boolean remove(T entry) {
      LinkedHashSet<T> fifo = byTenant.get(entry.tenant());
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
      LinkedHashSet<T> own = byTenant.get(tenant);
      long rounds = (own == null ? 0L : own.size()) + 1L;
      long ahead = 0;
      for (Map.Entry<String, LinkedHashSet<T>> e : byTenant.entrySet()) {
        ahead += e.getKey().equals(tenant) ? rounds - 1 : Math.min(e.getValue().size(), rounds);
      }
      return ahead;
    }
  }
}
