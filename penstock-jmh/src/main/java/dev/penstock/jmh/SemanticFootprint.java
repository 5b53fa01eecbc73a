package dev.penstock.jmh;

import dev.penstock.core.cache.SemanticIndex;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.HexFormat;
import java.util.Random;

/**
 * The heap a {@link SemanticIndex} holds per 10,000 entries, measured (used heap after full
 * collections, before and after filling it) against its own estimate, {@link
 * SemanticIndex#bytes()}. Entries as the gateway makes them: 384 dimensions, a 64-character key (a
 * SHA-256 in hex) and a prompt of about 80 characters; in one space, then spread over 1,000.
 *
 * <pre>java -cp penstock-jmh/target/benchmarks.jar dev.penstock.jmh.SemanticFootprint</pre>
 */
public final class SemanticFootprint {
  private static final int DIMENSIONS = 384;
  private static final int ENTRIES = 10_000;

  private SemanticFootprint() {}

  public static void main(String[] args) {
    System.out.printf("%-24s %14s %14s %12s%n", "layout", "heap (bytes)", "bytes()", "per entry");
    for (int spaces : new int[] {1, 1_000}) {
      measure(spaces);
    }
  }

  private static void measure(int spaces) {
    Random random = new Random(11);
    long before = usedAfterGc();
    SemanticIndex index = new SemanticIndex(DIMENSIONS, ENTRIES);
    byte[] hash = new byte[32];
    for (int i = 0; i < ENTRIES; i++) {
      random.nextBytes(hash);
      String prompt =
          "how do I "
              + WORDS[i % WORDS.length]
              + " a "
              + WORDS[(i / 10) % WORDS.length]
              + " of strings in python without changing the original order, entry "
              + i;
      index.put(
          "tenant|gpt-4o-mini|" + (i % spaces),
          HexFormat.of().formatHex(hash),
          prompt,
          SemanticLookupBenchmark.randomUnit(random, DIMENSIONS));
    }
    long heap = usedAfterGc() - before;
    System.out.printf(
        "%-24s %,14d %,14d %,12d%n",
        ENTRIES + " in " + spaces + " space" + (spaces == 1 ? "" : "s"),
        heap,
        index.bytes(),
        heap / ENTRIES);
    if (index.size() != ENTRIES) {
      throw new IllegalStateException("lost entries");
    }
  }

  private static long usedAfterGc() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    for (int i = 0; i < 4; i++) {
      System.gc();
    }
    return memory.getHeapMemoryUsage().getUsed();
  }

  private static final String[] WORDS = {
    "sort", "merge", "split", "parse", "format", "encode", "hash", "copy", "filter", "group"
  };
}
