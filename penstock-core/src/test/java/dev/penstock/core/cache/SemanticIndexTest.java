package dev.penstock.core.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.penstock.core.cache.SemanticIndex.Match;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SemanticIndexTest {
  private static final int DIMS = 32;

  private final Random random = new Random(42);
  private SemanticIndex index = new SemanticIndex(DIMS, 1_000);

  @AfterEach
  void invariantsHold() {
    index.checkInvariants();
  }

  @Test
  void findsAnEntryByItsOwnVector() {
    float[] v = randomUnit();
    index.put("s", "k1", "how do I reverse a list in python", v);

    Match m = index.find("s", "how can I reverse a python list", v, 0.95);

    assertThat(m).isNotNull();
    assertThat(m.entryKey()).isEqualTo("k1");
    assertThat(m.prompt()).isEqualTo("how do I reverse a list in python");
    assertThat(m.score()).isCloseTo(1.0, within(1e-3));
  }

  @Test
  void answersTheBestEntryAtOrAboveTheThreshold() {
    float[] q = randomUnit();
    index.put("s", "far", "explain recursion", near(q, 0.80));
    index.put("s", "close", "explain recursion please", near(q, 0.93));
    index.put("s", "closest", "explain recursion to me", near(q, 0.97));

    assertThat(index.find("s", "explain recursion", q, 0.90).entryKey()).isEqualTo("closest");
    assertThat(index.find("s", "explain recursion", q, 0.97 - 1e-3)).isNotNull();
    assertThat(index.find("s", "explain recursion", q, 0.98)).isNull();
    assertThat(index.find("s", "explain recursion", q, 0.90).score()).isCloseTo(0.97, within(1e-3));
  }

  @Test
  void theGuardIsAskedInScoreOrder() {
    float[] q = randomUnit();
    index.put("s", "wrong-number", "what is 17*24", near(q, 0.99));
    index.put("s", "paraphrase", "what's 17*23?", near(q, 0.96));
    index.put("s", "unrelated", "what is 17*23", near(q, 0.50));

    Match m = index.find("s", "what is 17*23", q, 0.95);

    assertThat(m.entryKey()).isEqualTo("paraphrase"); // the best was refused, the second accepted
    assertThat(index.find("s", "what is 17*25", q, 0.95)).isNull();
  }

  @Test
  void theGuardSeesAtMostTheBestSixteenCandidates() {
    float[] q = randomUnit();
    for (int i = 0; i < 20; i++) {
      index.put("s", "k" + i, "what is 17*" + i, near(q, 0.999 - i * 0.002));
    }
    assertThat(index.find("s", "what is 17*15", q, 0.9).entryKey()).isEqualTo("k15");
    assertThat(index.find("s", "what is 17*16", q, 0.9)).isNull(); // the 17th best
  }

  @Test
  void spacesAreSeparate() {
    float[] v = randomUnit();
    index.put("tenant-a|gpt-4o|p1", "k", "hello", v);

    assertThat(index.find("tenant-b|gpt-4o|p1", "hello", v, 0.5)).isNull();
    assertThat(index.find("tenant-a|gpt-4o|p2", "hello", v, 0.5)).isNull();
  }

  @Test
  void aPutReplacesTheSameKeyInItsSpace() {
    float[] first = randomUnit();
    float[] second = randomUnit();
    index.put("s", "k", "first prompt", first);
    index.put("s", "k", "second prompt", second);
    index.put("other", "k", "first prompt", first);

    assertThat(index.size()).isEqualTo(2);
    assertThat(index.find("s", "first prompt", first, 0.9)).isNull();
    assertThat(index.find("s", "second prompt", second, 0.9).prompt()).isEqualTo("second prompt");
  }

  @Test
  void evictsTheOldestOverTheBound() {
    index = new SemanticIndex(DIMS, 3);
    float[][] v = {randomUnit(), randomUnit(), randomUnit(), randomUnit()};
    index.put("a", "k0", "p", v[0]);
    index.put("b", "k1", "p", v[1]);
    index.put("a", "k2", "p", v[2]);
    index.put("a", "k0", "p", v[0]); // replaced: now the newest
    index.put("c", "k3", "p", v[3]);

    assertThat(index.size()).isEqualTo(3);
    assertThat(index.find("b", "p", v[1], 0.9)).isNull(); // b's only entry went, so did b
    assertThat(index.find("a", "p", v[0], 0.9)).isNotNull();
    assertThat(index.find("a", "p", v[2], 0.9)).isNotNull();
  }

  @Test
  void removesEntriesAndSpaces() {
    float[] v = randomUnit();
    index.put("t1|m", "k1", "p", v);
    index.put("t1|m", "k2", "p", randomUnit());
    index.put("t1|n", "k3", "p", randomUnit());
    index.put("t2|m", "k4", "p", randomUnit());

    index.remove("t1|m", "k1");
    index.remove("t1|m", "absent");
    index.remove("absent", "k2");
    assertThat(index.find("t1|m", "p", v, 0.9)).isNull();
    assertThat(index.size()).isEqualTo(3);

    assertThat(index.removeSpaces(space -> space.startsWith("t1|"))).isEqualTo(2);
    assertThat(index.size()).isEqualTo(1);
    assertThat(index.removeSpaces(space -> false)).isZero();
  }

  @Test
  void bytesFollowTheEntries() {
    assertThat(index.bytes()).isZero();
    String prompt = "x".repeat(100);
    for (int i = 0; i < 300; i++) {
      index.put("s", "key-" + i, prompt, randomUnit());
    }
    long perEntry = index.bytes() / 300;
    // 2 bytes a dimension, a 100-char prompt (~160 bytes), a key (~48) and ~128 of maps.
    assertThat(perEntry).isBetween(2L * DIMS + 300, 2L * DIMS + 450);

    for (int i = 0; i < 300; i++) {
      index.remove("s", "key-" + i);
    }
    assertThat(index.bytes()).isZero();
  }

  @Test
  void everyEntryStaysFindableThroughGrowthAndRemovals() {
    Map<String, float[]> live = new HashMap<>();
    for (int step = 0; step < 3_000; step++) {
      String key = "k" + random.nextInt(900);
      if (random.nextInt(3) == 0) {
        index.remove("s", key);
        live.remove(key);
      } else {
        float[] v = randomUnit();
        index.put("s", key, "prompt", v);
        live.put(key, v);
      }
      if (step % 500 == 0) {
        index.checkInvariants();
      }
    }
    assertThat(index.size()).isEqualTo(live.size());
    live.forEach(
        (key, v) -> assertThat(index.find("s", "prompt", v, 0.999).entryKey()).isEqualTo(key));
  }

  @Test
  void concurrentPutsRemovesAndFindsKeepTheInvariants() throws InterruptedException {
    index = new SemanticIndex(DIMS, 200);
    float[][] vectors = new float[50][];
    for (int i = 0; i < vectors.length; i++) {
      vectors[i] = randomUnit();
    }
    ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Random r = new Random(t);
      threads.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    awaitQuietly(start);
                    for (int op = 0; op < 5_000; op++) {
                      int i = r.nextInt(vectors.length);
                      String space = "s" + r.nextInt(3);
                      switch (r.nextInt(4)) {
                        case 0 -> index.put(space, "k" + i, "prompt " + i, vectors[i]);
                        case 1 -> index.remove(space, "k" + i);
                        default -> {
                          Match m = index.find(space, "prompt " + i, vectors[i], 0.999);
                          if (m != null && !m.entryKey().equals("k" + i)) {
                            wrong.add(m.entryKey() + " for k" + i);
                          }
                        }
                      }
                    }
                  }));
    }
    start.countDown();
    for (Thread t : threads) {
      assertThat(t.join(java.time.Duration.ofSeconds(60))).isTrue();
    }
    assertThat(wrong).isEmpty();
    assertThat(index.size()).isLessThanOrEqualTo(150);
  }

  @Test
  void refusesVectorsOfTheWrongShape() {
    assertThatThrownBy(() -> index.put("s", "k", "p", new float[DIMS + 1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("dimensions");
    float[] half = randomUnit();
    for (int i = 0; i < half.length; i++) {
      half[i] /= 2;
    }
    assertThatThrownBy(() -> index.find("s", "p", half, 0.9))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unit");
    assertThatThrownBy(() -> new SemanticIndex(DIMS, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      if (!latch.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("start gate never opened");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private float[] randomUnit() {
    float[] v = new float[DIMS];
    for (int i = 0; i < DIMS; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return normalised(v);
  }

  /** A unit vector whose cosine with unit vector {@code q} is {@code cosine}. */
  private float[] near(float[] q, double cosine) {
    float[] w = randomUnit();
    double along = 0;
    for (int i = 0; i < DIMS; i++) {
      along += w[i] * q[i];
    }
    for (int i = 0; i < DIMS; i++) {
      w[i] -= (float) (along * q[i]); // orthogonal to q
    }
    w = normalised(w);
    double sine = Math.sqrt(1 - cosine * cosine);
    float[] v = new float[DIMS];
    for (int i = 0; i < DIMS; i++) {
      v[i] = (float) (cosine * q[i] + sine * w[i]);
    }
    return normalised(v);
  }

  private static float[] normalised(float[] v) {
    double norm = 0;
    for (float x : v) {
      norm += x * x;
    }
    float scale = (float) (1 / Math.sqrt(norm));
    for (int i = 0; i < v.length; i++) {
      v[i] *= scale;
    }
    return v;
  }
}
