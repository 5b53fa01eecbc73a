package dev.penstock.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Splitting a merged embeddings answer: each part is spliced from the upstream's own bytes — the
 * vectors and every other field as written — with the index renumbered and the usage share in
 * place; anything but exactly the vectors asked for is refused.
 */
class EmbeddingSplitTest {
  private static final String ANSWER =
      """
      {
        "object": "list",
        "data": [
          {"object": "embedding", "index": 2, "embedding": [0.30, -1e-05]},
          {"object": "embedding", "embedding": [0.10, 0.11], "index": 0},
          {"index": 1, "object": "embedding", "embedding": "AAAAPw=="}
        ],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 12, "total_tokens": 12},
        "x-extra": {"kept": [1, "two"]}
      }""";

  @Test
  void eachPartHasItsOwnVectorsAsTheUpstreamWroteThemIndexedFromZero() {
    EmbeddingSplit split = EmbeddingSplit.parse(utf8(ANSWER), 3);

    assertThat(split).isNotNull();
    assertThat(split.promptTokens()).isEqualTo(12);
    assertThat(split.totalTokens()).isEqualTo(12);
    assertThat(text(split.part(0, 2, 7, 7)))
        .isEqualTo(
            "{\"object\": \"list\",\"data\":["
                + "{\"object\": \"embedding\", \"embedding\": [0.10, 0.11], \"index\": 0},"
                + "{\"index\": 1, \"object\": \"embedding\", \"embedding\": \"AAAAPw==\"}],"
                + "\"model\": \"text-embedding-3-small\","
                + "\"usage\":{\"prompt_tokens\":7,\"total_tokens\":7},"
                + "\"x-extra\": {\"kept\": [1, \"two\"]}}");
    assertThat(text(split.part(2, 1, 5, 5)))
        .contains(
            "\"data\":[{\"object\": \"embedding\", \"index\": 0, \"embedding\": [0.30, -1e-05]}]")
        .contains("\"usage\":{\"prompt_tokens\":5,\"total_tokens\":5}");
  }

  @Test
  void anAnswerWithoutUsageKeepsWhatItHad() {
    String answer = "{\"data\":[{\"index\":0,\"embedding\":[1]}],\"usage\":{\"note\":\"none\"}}";
    EmbeddingSplit split = EmbeddingSplit.parse(utf8(answer), 1);

    assertThat(split).isNotNull();
    assertThat(split.promptTokens()).isEqualTo(-1);
    assertThat(text(split.part(0, 1, 0, 0))).isEqualTo(answer);
  }

  @Test
  void otherVectorsThanAskedForAreRefused() {
    assertThat(EmbeddingSplit.parse(utf8(ANSWER), 2)).as("one too many").isNull();
    assertThat(EmbeddingSplit.parse(utf8(ANSWER), 4)).as("one missing").isNull();
    assertThat(EmbeddingSplit.parse(utf8(ANSWER.replace("\"index\": 2", "\"index\": 1")), 3))
        .as("an index twice")
        .isNull();
    assertThat(EmbeddingSplit.parse(utf8(ANSWER.replace("\"index\": 2,", "")), 3))
        .as("an index missing")
        .isNull();
    assertThat(EmbeddingSplit.parse(utf8(ANSWER.substring(0, 200)), 3)).as("cut off").isNull();
    assertThat(EmbeddingSplit.parse(utf8("[1,2]"), 2)).as("not an object").isNull();
    assertThat(EmbeddingSplit.parse(utf8("{\"data\":[1,2]}"), 2)).as("not vectors").isNull();
  }

  @Test
  void sharesFollowTheWeightsAndSumToTheTotal() {
    assertThat(EmbeddingSplit.shares(10, new long[] {1, 1, 2})).containsExactly(3, 2, 5);
    assertThat(EmbeddingSplit.shares(7, new long[] {0, 0})).containsExactly(4, 3);
    assertThat(EmbeddingSplit.shares(0, new long[] {5, 5})).containsExactly(0, 0);
    assertThat(EmbeddingSplit.shares(5, new long[] {100})).containsExactly(5);
    SplittableRandom random = new SplittableRandom(14);
    for (int round = 0; round < 1_000; round++) {
      long[] weights = random.longs(1 + random.nextInt(50), 0, 10_000).toArray();
      long total = random.nextLong(0, 300_000);
      long[] shares = EmbeddingSplit.shares(total, weights);
      assertThat(Arrays.stream(shares).sum()).isEqualTo(total);
      long sum = Arrays.stream(weights).sum();
      for (int i = 0; i < weights.length; i++) {
        double exact =
            sum == 0 ? (double) total / weights.length : (double) total * weights[i] / sum;
        assertThat((double) shares[i]).isBetween(Math.floor(exact), Math.ceil(exact));
      }
    }
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
