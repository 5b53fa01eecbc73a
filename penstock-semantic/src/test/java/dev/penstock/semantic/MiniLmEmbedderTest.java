package dev.penstock.semantic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.penstock.core.cache.Embedder;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MiniLmEmbedderTest {
  private static final List<String> TEXTS =
      List.of(
          "how do I reverse a list in python",
          "how can I reverse a python list",
          "what is the capital of France",
          "Explain in detail how a transformer neural network works, with attention.",
          "日本の首都はどこですか");

  private static Embedder embedder;

  @BeforeAll
  static void load() {
    embedder = ServiceLoader.load(Embedder.class).findFirst().orElseThrow();
  }

  @AfterAll
  static void close() {
    embedder.close();
  }

  @Test
  void isFoundByServiceLoader() {
    assertThat(embedder).isInstanceOf(MiniLmEmbedder.class);
    assertThat(embedder.name()).isEqualTo("all-minilm-l6-v2-q");
    assertThat(embedder.dimensions()).isEqualTo(384);
  }

  @Test
  void embedsToUnitVectorsTheSameEachTime() {
    for (String text : TEXTS) {
      float[] v = embedder.embed(text);
      assertThat(v).hasSize(384);
      assertThat(norm(v)).as(text).isCloseTo(1.0, within(1e-6));
      assertThat(embedder.embed(text)).isEqualTo(v);
    }
  }

  @Test
  void paraphrasesAreCloserThanOtherTopics() {
    float[] list = embedder.embed(TEXTS.get(0));
    assertThat(dot(list, embedder.embed(TEXTS.get(1))))
        .isGreaterThan(0.85)
        .isGreaterThan(dot(list, embedder.embed(TEXTS.get(2))) + 0.5);
  }

  @Test
  void concurrentCallsGiveTheSequentialResults() throws Exception {
    List<float[]> sequential = TEXTS.stream().map(embedder::embed).toList();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<float[]>> futures = new ArrayList<>();
      for (int round = 0; round < 20; round++) {
        for (String text : TEXTS) {
          futures.add(pool.submit(() -> embedder.embed(text)));
        }
      }
      for (int i = 0; i < futures.size(); i++) {
        assertThat(futures.get(i).get(60, TimeUnit.SECONDS))
            .isEqualTo(sequential.get(i % TEXTS.size()));
      }
    } finally {
      pool.shutdownNow();
      assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void refusesBlankText() {
    assertThatThrownBy(() -> embedder.embed(" \n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("blank");
  }

  @Test
  void refusesToEmbedOnceClosed() {
    MiniLmEmbedder own = new MiniLmEmbedder();
    own.embed("warm");
    own.close();
    own.close(); // idempotent
    assertThatThrownBy(() -> own.embed("cold"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  private static double norm(float[] v) {
    return Math.sqrt(dot(v, v));
  }
}
