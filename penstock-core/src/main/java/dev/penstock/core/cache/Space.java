package dev.penstock.core.cache;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The entries of one space of a {@link SemanticIndex}, their vectors stored as float16 in blocks
 * laid out dimension by dimension, and the exhaustive scan over them.
 *
 * <h2>Layout</h2>
 *
 * <p>Entries occupy slots {@code 0..size-1} densely (a removal moves the last entry into the hole).
 * Slot {@code i} lives in block {@code i / BLOCK}; within a block of capacity {@code cap} component
 * {@code d} of the entry at position {@code e} is {@code block[d * cap + e]}. Every block but the
 * last is full with capacity {@link #BLOCK}; the last grows from {@link #MIN_CAPACITY} by doubling
 * (and shrinks by halving when a quarter full), so a space with three entries holds three entries'
 * worth of memory, not a block's.
 *
 * <h2>Why this layout</h2>
 *
 * <p>The scan computes the scores of a whole block at once: for each dimension it adds {@code q[d]
 * * component} to a {@code float[cap]} of running scores. That loop has no reduction (a per-entry
 * dot product has one, which C2 does not vectorise for floats, as their sum's order is fixed) and
 * reads a {@code short[]} while writing a {@code float[]}, so C2 vectorises it, the float16
 * conversion included. Float16 halves the bytes streamed from memory against float32; its 11-bit
 * mantissa moves a score of unit vectors by at most about 5e-4. Measured (docs/semantic-cache.md):
 * 20,000 entries in 0.65-0.85 ms, against 2.4-5 ms for float32 rows and per-entry dot products.
 *
 * <p>Not thread-safe: {@link SemanticIndex}'s lock guards every call.
 */
final class Space {
  /** The capacity of every block but the last. */
  static final int BLOCK = 256;

  static final int MIN_CAPACITY = 8;

  final String name;
  private final int dimensions;
  private short[][] blocks = new short[0][];

  /** Slot to entry; null past {@code size}. */
  private @Nullable Entry[] entries = new Entry[MIN_CAPACITY];

  private final Map<String, Entry> byKey = new HashMap<>();
  private int size;

  Space(String name, int dimensions) {
    this.name = name;
    this.dimensions = dimensions;
  }

  int size() {
    return size;
  }

  @Nullable Entry get(String key) {
    return byKey.get(key);
  }

  /** Adds an entry whose key this space does not hold. */
  void add(Entry entry, float[] unitVector) {
    if (size == entries.length) {
      entries = Arrays.copyOf(entries, size * 2);
    }
    int slot = size++;
    short[] block = blockFor(slot);
    int cap = block.length / dimensions;
    int e = slot % BLOCK;
    for (int d = 0; d < dimensions; d++) {
      block[d * cap + e] = Float.floatToFloat16(unitVector[d]);
    }
    entries[slot] = entry;
    entry.slot = slot;
    byKey.put(entry.key, entry);
  }

  /** The block that holds {@code slot}, added or grown if needed. */
  private short[] blockFor(int slot) {
    int b = slot / BLOCK;
    int e = slot % BLOCK;
    if (b == blocks.length) {
      blocks = Arrays.copyOf(blocks, b + 1);
      blocks[b] = new short[MIN_CAPACITY * dimensions];
    } else if (e == blocks[b].length / dimensions) {
      blocks[b] = resized(blocks[b], e, e * 2);
    }
    return blocks[b];
  }

  /** Removes an entry this space holds; the last entry moves into its slot. */
  void remove(Entry entry) {
    byKey.remove(entry.key);
    int last = --size;
    Entry moved = Objects.requireNonNull(entries[last]);
    entries[last] = null;
    if (moved != entry) {
      copyVector(last, entry.slot);
      entries[entry.slot] = moved;
      moved.slot = entry.slot;
    }
    int b = last / BLOCK;
    int used = last % BLOCK;
    int cap = blocks[b].length / dimensions;
    if (used == 0) {
      blocks = Arrays.copyOf(blocks, b);
    } else if (cap > MIN_CAPACITY && used <= cap / 4) {
      blocks[b] = resized(blocks[b], used, cap / 2);
    }
  }

  private void copyVector(int from, int to) {
    short[] src = blocks[from / BLOCK];
    short[] dst = blocks[to / BLOCK];
    int srcCap = src.length / dimensions;
    int dstCap = dst.length / dimensions;
    int s = from % BLOCK;
    int t = to % BLOCK;
    for (int d = 0; d < dimensions; d++) {
      dst[d * dstCap + t] = src[d * srcCap + s];
    }
  }

  private short[] resized(short[] block, int used, int cap) {
    int oldCap = block.length / dimensions;
    short[] grown = new short[cap * dimensions];
    for (int d = 0; d < dimensions; d++) {
      System.arraycopy(block, d * oldCap, grown, d * cap, used);
    }
    return grown;
  }

  /** Offers every entry scoring at least {@code threshold} against {@code query} to {@code top}. */
  void scan(float[] query, float threshold, TopScores top) {
    float[] scores = new float[BLOCK];
    for (int b = 0; b < blocks.length; b++) {
      short[] block = blocks[b];
      int n = b == blocks.length - 1 ? size - b * BLOCK : BLOCK;
      score(block, block.length / dimensions, n, query, scores);
      for (int e = 0; e < n; e++) {
        if (scores[e] >= threshold) {
          top.offer(Objects.requireNonNull(entries[b * BLOCK + e]), scores[e]);
        }
      }
    }
  }

  /** scores[e] = dot(query, entry e) for the first {@code n} entries of a block. */
  private static void score(short[] block, int cap, int n, float[] query, float[] scores) {
    Arrays.fill(scores, 0, n, 0f);
    for (int d = 0; d < query.length; d++) {
      float q = query[d];
      int base = d * cap;
      for (int e = 0; e < n; e++) {
        scores[e] += Float.float16ToFloat(block[base + e]) * q;
      }
    }
  }

  /** Bytes held by the vectors and the slot table (entries' own bytes are counted per entry). */
  long vectorBytes() {
    long bytes = 16L + 4L * blocks.length + 16L + 4L * entries.length;
    for (short[] block : blocks) {
      bytes += 16L + 2L * block.length;
    }
    return bytes;
  }

  /** Checks the layout; for tests. */
  void checkInvariants() {
    check(byKey.size() == size, "byKey holds " + byKey.size() + " for size " + size);
    check(blocks.length == (size + BLOCK - 1) / BLOCK, blocks.length + " blocks for " + size);
    for (int i = 0; i < size; i++) {
      Entry e = entries[i];
      check(e != null && e.slot == i && byKey.get(e.key) == e, "slot " + i + " is inconsistent");
    }
    for (int b = 0; b + 1 < blocks.length; b++) {
      check(blocks[b].length == BLOCK * dimensions, "block " + b + " is not full size");
    }
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException(what);
    }
  }
}
