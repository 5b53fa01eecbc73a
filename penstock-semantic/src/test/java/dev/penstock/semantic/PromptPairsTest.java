package dev.penstock.semantic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.core.cache.PromptGuard;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every labelled pair of {@code prompt-pairs.tsv} through the real lookup's decision — MiniLM
 * cosine at or above a threshold, and the guard — at several thresholds. Prints the rates table
 * that docs/semantic-cache.md quotes.
 */
class PromptPairsTest {
  /** The issue's default similarity threshold. */
  static final double DEFAULT_THRESHOLD = 0.95;

  /** The threshold docs/semantic-cache.md recommends: the guard does the safety work. */
  static final double RECOMMENDED_THRESHOLD = 0.90;

  static final double[] THRESHOLDS = {0.80, 0.85, 0.90, 0.92, 0.95};

  /** The lowest paraphrase hit rate accepted at the default threshold: measured 55%. */
  static final double PARAPHRASE_FLOOR_AT_DEFAULT = 0.50;

  /** ... and at the recommended threshold: measured 80%. */
  static final double PARAPHRASE_FLOOR_AT_RECOMMENDED = 0.75;

  /** The kind of never pair the guard cannot see (a noun for another): only the cosine can. */
  static final String SUBSTITUTION = "substitution";

  private static MiniLmEmbedder embedder;
  private static List<Pair> pairs;

  record Pair(boolean never, String kind, String cached, String asked) {}

  record Scored(Pair pair, double cosine, String guard) {
    boolean hits(double threshold) {
      return cosine >= threshold && guard.isEmpty();
    }
  }

  @BeforeAll
  static void load() throws IOException {
    embedder = new MiniLmEmbedder();
    pairs = read();
  }

  @AfterAll
  static void close() {
    embedder.close();
  }

  @Test
  void noNeverPairHitsAndParaphrasesHitAtTheirFloor() {
    List<Scored> scored = score();
    System.out.println(table(scored));
    System.out.println(details(scored));

    for (double t : new double[] {DEFAULT_THRESHOLD, RECOMMENDED_THRESHOLD}) {
      assertThat(scored.stream().filter(s -> s.pair().never() && s.hits(t)).map(Scored::pair))
          .as("never pairs that hit at %.2f", t)
          .isEmpty();
    }
    assertThat(paraphraseRate(scored, DEFAULT_THRESHOLD, true))
        .isGreaterThanOrEqualTo(PARAPHRASE_FLOOR_AT_DEFAULT);
    assertThat(paraphraseRate(scored, RECOMMENDED_THRESHOLD, true))
        .isGreaterThanOrEqualTo(PARAPHRASE_FLOOR_AT_RECOMMENDED);
  }

  @Test
  void theGuardRefusesEveryNeverPairItIsMeantFor() {
    assertThat(
            pairs.stream()
                .filter(p -> p.never() && !p.kind().equals(SUBSTITUTION))
                .filter(p -> PromptGuard.compatible(p.cached(), p.asked())))
        .isEmpty();
  }

  @Test
  void theFileHoldsEnoughPairsOfEachKind() {
    assertThat(pairs.stream().filter(Pair::never).count()).isGreaterThanOrEqualTo(60);
    assertThat(pairs.stream().filter(p -> !p.never()).count()).isGreaterThanOrEqualTo(60);
  }

  private static List<Scored> score() {
    Map<String, float[]> vectors = new HashMap<>();
    List<Scored> scored = new ArrayList<>();
    for (Pair p : pairs) {
      float[] a = vectors.computeIfAbsent(p.cached(), embedder::embed);
      float[] b = vectors.computeIfAbsent(p.asked(), embedder::embed);
      double cosine = 0;
      for (int i = 0; i < a.length; i++) {
        cosine += a[i] * b[i];
      }
      scored.add(new Scored(p, cosine, PromptGuard.reason(p.cached(), p.asked()).orElse("")));
    }
    return scored;
  }

  private static double paraphraseRate(List<Scored> scored, double threshold, boolean guarded) {
    List<Scored> paraphrases = scored.stream().filter(s -> !s.pair().never()).toList();
    long hits =
        paraphrases.stream()
            .filter(s -> s.cosine() >= threshold && (!guarded || s.guard().isEmpty()))
            .count();
    return (double) hits / paraphrases.size();
  }

  private static String table(List<Scored> scored) {
    long never = scored.stream().filter(s -> s.pair().never()).count();
    StringBuilder out = new StringBuilder();
    out.append(
        String.format("%n%d never pairs, %d paraphrase pairs%n", never, scored.size() - never));
    out.append(
            "| threshold | never pairs over it (cosine alone) | never pairs that hit (with guard) ")
        .append("| paraphrases over it (cosine alone) | paraphrases that hit (with guard) |\n")
        .append("|---|---|---|---|---|\n");
    for (double t : THRESHOLDS) {
      long over = scored.stream().filter(s -> s.pair().never() && s.cosine() >= t).count();
      long hit = scored.stream().filter(s -> s.pair().never() && s.hits(t)).count();
      out.append(
          String.format(
              "| %.2f | %d (%.0f%%) | %d | %.0f%% | %.0f%% |%n",
              t,
              over,
              100.0 * over / never,
              hit,
              100 * paraphraseRate(scored, t, false),
              100 * paraphraseRate(scored, t, true)));
    }
    scored.stream()
        .filter(s -> s.pair().never() && s.guard().isEmpty())
        .max(java.util.Comparator.comparingDouble(Scored::cosine))
        .ifPresent(
            s ->
                out.append(
                    String.format(
                        "Never pairs the guard accepts: %d; the highest cosine among them %.3f"
                            + " (%s / %s): a threshold above it keeps false hits at 0%n",
                        scored.stream()
                            .filter(x -> x.pair().never() && x.guard().isEmpty())
                            .count(),
                        s.cosine(),
                        s.pair().cached(),
                        s.pair().asked())));
    return out.toString();
  }

  /** Never pairs over 0.80 or that the guard accepts, paraphrases refused or scored under 0.90. */
  private static String details(List<Scored> scored) {
    StringBuilder out = new StringBuilder("cosine | guard | kind | cached | asked\n");
    for (Scored s : scored) {
      boolean interesting =
          s.pair().never()
              ? s.cosine() >= 0.80 || s.guard().isEmpty()
              : !s.guard().isEmpty() || s.cosine() < 0.90;
      if (interesting) {
        out.append(
            String.format(
                "%.3f | %s | %s | %s | %s%n",
                s.cosine(),
                s.guard().isEmpty() ? "ok" : s.guard(),
                s.pair().kind(),
                s.pair().cached(),
                s.pair().asked()));
      }
    }
    return out.toString();
  }

  static List<Pair> read() throws IOException {
    List<Pair> read = new ArrayList<>();
    try (InputStream in =
        Objects.requireNonNull(
            PromptPairsTest.class.getResourceAsStream("prompt-pairs.tsv"), "prompt-pairs.tsv")) {
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n", -1)) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        String[] f = line.split("\t", -1);
        assertThat(f).as(line).hasSize(4);
        assertThat(f[0]).as(line).isIn("never", "hit");
        read.add(new Pair(f[0].equals("never"), f[1], f[2], f[3]));
      }
    }
    return read;
  }
}
