package dev.penstock.jmh;

import dev.penstock.core.cache.SemanticIndex;
import dev.penstock.core.cache.SemanticIndex.Match;
import dev.penstock.semantic.MiniLmEmbedder;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A semantic cache lookup over {@code entries} entries in one space: {@code find} (the index's scan
 * and the guard), {@code embedAndFind} (the whole lookup the gateway makes: embed the last user
 * message, then find), {@code embed} alone, and {@code float32RowScan}, the design the index did
 * not take (one float[] row per entry, a dot product each), for the decision's record.
 *
 * <p>The index holds seeded random unit vectors (the scan's cost does not depend on them) plus the
 * real embedding of "how do I reverse a list in python", which the query paraphrases, so {@code
 * find} ends in a hit after the guard. With {@code nearDuplicates = 15} the space also holds 15
 * entries scoring above the threshold that the guard refuses (other numbers), so it reads 16
 * candidates: the worst case the index allows. Sample time, for p50 and p99:
 *
 * <pre>scripts/jmh.sh SemanticLookupBenchmark -f 1 -wi 3 -i 5</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class SemanticLookupBenchmark {
  private static final String SPACE = "tenant-a|gpt-4o-mini|5f2c";
  private static final String CACHED = "how do I reverse a list in python";
  private static final double THRESHOLD = 0.90;
  private static final String PARAGRAPH =
      "how can I reverse a python list in place, without building a new list, and what is the"
          + " difference between list.reverse(), reversed() and slicing with a negative step when"
          + " the list is very large?";

  @Param({"20000"})
  public int entries;

  @Param({"0", "15"})
  public int nearDuplicates;

  /**
   * The asked prompt: a short paraphrase, or a paragraph (~230 characters). {@code -p prompt=page}
   * adds a page (~1,000 characters, ~220 tokens) for the embedding's cost by length.
   */
  @Param({"short", "paragraph"})
  public String prompt;

  private MiniLmEmbedder embedder;
  private SemanticIndex index;
  private String asked;
  private float[] query;
  private float[][] rows;

  @Setup
  public void setUp() {
    embedder = new MiniLmEmbedder();
    asked =
        switch (prompt) {
          case "short" -> "how can I reverse a python list";
          case "paragraph" -> PARAGRAPH;
          case "page" -> (PARAGRAPH + " ").repeat(5).strip();
          default -> throw new IllegalArgumentException("prompt: short, paragraph or page");
        };
    index = new SemanticIndex(embedder.dimensions(), entries + nearDuplicates + 1);
    Random random = new Random(7);
    rows = new float[entries][];
    for (int i = 0; i < entries; i++) {
      rows[i] = randomUnit(random, embedder.dimensions());
      index.put(SPACE, "k" + i, "how do I " + WORDS[i % WORDS.length] + " a thing", rows[i]);
    }
    query = embedder.embed(asked);
    float[] cached = embedder.embed(prompt.equals("short") ? CACHED : asked);
    for (int i = 0; i < nearDuplicates; i++) {
      index.put(SPACE, "dup" + i, "how do I reverse " + (i + 2) + " lists in python", query);
    }
    index.put(SPACE, "target", prompt.equals("short") ? CACHED : asked, cached);
    if (index.find(SPACE, asked, query, THRESHOLD) == null) {
      throw new IllegalStateException("the benchmark's query must hit");
    }
  }

  @TearDown
  public void tearDown() {
    embedder.close();
  }

  @Benchmark
  public Match find() {
    return index.find(SPACE, asked, query, THRESHOLD);
  }

  @Benchmark
  public Match embedAndFind() {
    return index.find(SPACE, asked, embedder.embed(asked), THRESHOLD);
  }

  @Benchmark
  public float[] embed() {
    return embedder.embed(asked);
  }

  /**
   * The alternative: float32 rows, a 4-way unrolled dot product each (C2 does not vectorise it).
   */
  @Benchmark
  public int float32RowScan() {
    int best = -1;
    float bestScore = (float) THRESHOLD;
    for (int e = 0; e < rows.length; e++) {
      float[] row = rows[e];
      float s0 = 0;
      float s1 = 0;
      float s2 = 0;
      float s3 = 0;
      for (int d = 0; d < row.length; d += 4) {
        s0 += row[d] * query[d];
        s1 += row[d + 1] * query[d + 1];
        s2 += row[d + 2] * query[d + 2];
        s3 += row[d + 3] * query[d + 3];
      }
      float score = (s0 + s1) + (s2 + s3);
      if (score >= bestScore) {
        bestScore = score;
        best = e;
      }
    }
    return best;
  }

  private static final String[] WORDS = {
    "sort", "merge", "split", "parse", "format", "encode", "hash", "copy", "filter", "group"
  };

  static float[] randomUnit(Random random, int dimensions) {
    float[] v = new float[dimensions];
    double squares = 0;
    for (int i = 0; i < dimensions; i++) {
      v[i] = (float) random.nextGaussian();
      squares += (double) v[i] * v[i];
    }
    float scale = (float) (1 / Math.sqrt(squares));
    for (int i = 0; i < dimensions; i++) {
      v[i] *= scale;
    }
    return v;
  }
}
