package dev.penstock.core.cache;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * Prompts' unit vectors, grouped in spaces, searched by cosine similarity: the semantic cache's
 * index. A space is a string the gateway builds from everything a request's answer depends on but
 * its last user message (tenant namespace, model, a hash of the other parameters), so only requests
 * that could share an answer are compared.
 *
 * <h2>Design</h2>
 *
 * <p>{@link #find} scans every entry of the space (exhaustive, exact up to float16 rounding: see
 * {@link Space}), keeps the {@value #GUARDED_CANDIDATES} best scoring at least the threshold, then
 * asks {@link PromptGuard} about them in score order and answers the first it accepts: the best
 * candidate may be refused ("17*24" for "17*23") while the second is a true paraphrase. Candidates
 * past the first {@value #GUARDED_CANDIDATES} are not considered (a bound on guard work when many
 * near-duplicates crowd a space). A find over 20,000 entries of 384 dimensions measured p50
 * 0.65-0.85 ms (JMH, two cores), small beside the embedding's 1-4 ms, so no approximate index (see
 * docs/semantic-cache.md).
 *
 * <p>The index is bounded by {@code maxEntries} over all spaces: a put beyond it evicts the oldest
 * entries (insertion order; a replaced entry counts as new). Lookups do not refresh an entry's age:
 * they only read. The index holds no answers — an entry's key names the gateway's cached response,
 * which may have expired: the gateway then {@link #remove}s the entry and treats the lookup as a
 * miss.
 *
 * <h2>Threads</h2>
 *
 * <p>Thread-safe. A read/write lock guards the spaces and the age order: lookups scan under the
 * read lock, concurrently; puts and removals take the write lock, briefly (no scan). The guard runs
 * after the read lock is released, on the candidates' immutable prompts.
 */
public final class SemanticIndex {
  /** At most this many candidates above the threshold go to the guard, best first. */
  static final int GUARDED_CANDIDATES = 16;

  private static final double UNIT_TOLERANCE = 1e-2;

  private final int dimensions;
  private final int maxEntries;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  /** Spaces by name; none is empty. Guarded by {@link #lock}. */
  private final Map<String, Space> spaces = new HashMap<>();

  /** Every entry, oldest first. Guarded by {@link #lock}. */
  private final LinkedHashSet<Entry> age = new LinkedHashSet<>();

  /** The sum of the entries' {@link Entry#bytes}. Guarded by {@link #lock}. */
  private long entryBytes;

  /** An index of vectors of {@code dimensions} floats holding at most {@code maxEntries}. */
  public SemanticIndex(int dimensions, int maxEntries) {
    if (dimensions <= 0 || maxEntries <= 0) {
      throw new IllegalArgumentException(
          "dimensions and maxEntries must be positive: " + dimensions + ", " + maxEntries);
    }
    this.dimensions = dimensions;
    this.maxEntries = maxEntries;
  }

  /** A lookup's answer: the entry's key and prompt, and its cosine similarity to the query. */
  public record Match(String entryKey, String prompt, double score) {
    public Match {
      Objects.requireNonNull(entryKey, "entryKey");
      Objects.requireNonNull(prompt, "prompt");
    }
  }

  /**
   * Adds {@code entryKey} to {@code space} (replacing the space's entry of that key), then evicts
   * the oldest entries while more than {@code maxEntries} are held.
   */
  public void put(String space, String entryKey, String prompt, float[] unitVector) {
    checkVector(unitVector);
    lock.writeLock().lock();
    try {
      Space existing = spaces.get(space);
      Entry old = existing == null ? null : existing.get(entryKey);
      if (old != null) {
        removeEntry(old);
      }
      Space target = spaces.computeIfAbsent(space, name -> new Space(name, dimensions));
      Entry entry = new Entry(target, entryKey, prompt);
      target.add(entry, unitVector);
      age.add(entry);
      entryBytes += entry.bytes;
      while (age.size() > maxEntries) {
        removeEntry(age.iterator().next());
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * The best entry of {@code space} whose score is at least {@code threshold} and whose prompt
   * {@link PromptGuard} finds compatible with {@code prompt}; null if none.
   */
  public @Nullable Match find(String space, String prompt, float[] unitVector, double threshold) {
    checkVector(unitVector);
    TopScores top = new TopScores(GUARDED_CANDIDATES);
    lock.readLock().lock();
    try {
      Space s = spaces.get(space);
      if (s == null) {
        return null;
      }
      s.scan(unitVector, (float) threshold, top);
    } finally {
      lock.readLock().unlock();
    }
    PromptFeatures asked = null;
    for (int rank = 0; rank < top.count(); rank++) {
      Entry candidate = top.entry(rank);
      asked = asked != null ? asked : PromptFeatures.of(prompt);
      if (PromptGuard.difference(PromptFeatures.of(candidate.prompt), asked) == null) {
        return new Match(candidate.key, candidate.prompt, top.score(rank));
      }
    }
    return null;
  }

  /** Removes {@code entryKey} from {@code space}, if there. */
  public void remove(String space, String entryKey) {
    lock.writeLock().lock();
    try {
      Space s = spaces.get(space);
      Entry entry = s == null ? null : s.get(entryKey);
      if (entry != null) {
        removeEntry(entry);
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Removes every space whose name matches (a tenant deleted, a model reconfigured). */
  public int removeSpaces(Predicate<String> space) {
    lock.writeLock().lock();
    try {
      Set<Space> gone = new HashSet<>();
      for (Iterator<Space> it = spaces.values().iterator(); it.hasNext(); ) {
        Space s = it.next();
        if (space.test(s.name)) {
          gone.add(s);
          it.remove();
        }
      }
      int removed = 0;
      for (Iterator<Entry> it = age.iterator(); it.hasNext(); ) {
        Entry e = it.next();
        if (gone.contains(e.space)) {
          it.remove();
          entryBytes -= e.bytes;
          removed++;
        }
      }
      return removed;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** The number of entries, over all spaces. */
  public int size() {
    lock.readLock().lock();
    try {
      return age.size();
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * The estimated heap held: vectors (2 bytes a dimension, in blocks), keys and prompts, and a
   * measured per-entry overhead for the maps that find them.
   */
  public long bytes() {
    lock.readLock().lock();
    try {
      long bytes = entryBytes;
      for (Space s : spaces.values()) {
        bytes += s.vectorBytes() + 64 + Entry.stringBytes(s.name);
      }
      return bytes;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Removes an entry from its space (the space too when it empties) and from the age order. */
  private void removeEntry(Entry entry) {
    entry.space.remove(entry);
    if (entry.space.size() == 0) {
      spaces.remove(entry.space.name);
    }
    age.remove(entry);
    entryBytes -= entry.bytes;
  }

  private void checkVector(float[] v) {
    if (v.length != dimensions) {
      throw new IllegalArgumentException(
          "vector has " + v.length + " dimensions, the index " + dimensions);
    }
    double squares = 0;
    for (float x : v) {
      squares += (double) x * x;
    }
    if (!(Math.abs(Math.sqrt(squares) - 1) <= UNIT_TOLERANCE)) {
      throw new IllegalArgumentException("vector is not unit length: " + Math.sqrt(squares));
    }
  }

  /** Checks the structure's invariants; for tests. */
  void checkInvariants() {
    lock.readLock().lock();
    try {
      int total = 0;
      long bytes = 0;
      for (Space s : spaces.values()) {
        s.checkInvariants();
        if (s.size() == 0) {
          throw new IllegalStateException("empty space " + s.name);
        }
        total += s.size();
      }
      for (Entry e : age) {
        if (spaces.get(e.space.name) != e.space || e.space.get(e.key) != e) {
          throw new IllegalStateException("entry " + e.key + " is not in its space");
        }
        bytes += e.bytes;
      }
      if (total != age.size() || bytes != entryBytes || age.size() > maxEntries) {
        throw new IllegalStateException(
            total + " in spaces, " + age.size() + " aged, bound " + maxEntries);
      }
    } finally {
      lock.readLock().unlock();
    }
  }
}
