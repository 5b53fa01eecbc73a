package dev.penstock.server.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.core.time.FakeTicker;
import dev.penstock.server.openai.Endpoint;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ResponseCacheTest {
  private final FakeTicker ticker = new FakeTicker();

  private static CachedAnswer answer(int bytes) {
    byte[] body = ("{\"x\":\"" + "a".repeat(bytes) + "\"}").getBytes(StandardCharsets.UTF_8);
    return new CachedAnswer(Endpoint.CHAT, body, "d", "m", 0);
  }

  private static ResponseCache.Key key(String namespace, String model, int i) {
    return new ResponseCache.Key(namespace, model, "h" + i);
  }

  @Test
  void entriesLiveForTheirTtl() {
    try (ResponseCache cache = new ResponseCache(1 << 20, 1 << 20, ticker, null, "p:")) {
      cache.put(key("n", "m", 1), answer(10), Duration.ofSeconds(60));
      cache.put(key("n", "m", 2), answer(10), Duration.ofSeconds(5));
      ticker.advance(Duration.ofSeconds(6));
      assertThat(cache.get(key("n", "m", 1))).isNotNull();
      assertThat(cache.get(key("n", "m", 2))).isNull();
      ticker.advance(Duration.ofSeconds(60));
      assertThat(cache.get(key("n", "m", 1))).isNull();
    }
  }

  @Test
  void theBoundIsInBytesAndAnAnswerTooLargeIsNotKept() {
    try (ResponseCache cache = new ResponseCache(100_000, 20_000, ticker, null, "p:")) {
      for (int i = 0; i < 100; i++) {
        cache.put(key("n", "m", i), answer(5_000), Duration.ofHours(1));
      }
      cache.cleanUp();
      assertThat(cache.bytes()).isLessThanOrEqualTo(100_000).isGreaterThan(50_000);
      assertThat(cache.entries()).isBetween(10L, 20L);
      cache.put(key("n", "m", 1_000), answer(30_000), Duration.ofHours(1));
      assertThat(cache.get(key("n", "m", 1_000))).isNull();
    }
  }

  @Test
  void invalidationSelectsByModelNamespaceOrBoth() {
    try (ResponseCache cache = new ResponseCache(1 << 20, 1 << 20, ticker, null, "p:")) {
      for (String ns : new String[] {"a", "b"}) {
        for (String model : new String[] {"m1", "m2"}) {
          cache.put(key(ns, model, 1), answer(1), Duration.ofHours(1));
        }
      }
      assertThat(cache.invalidate("m1", "a")).isEqualTo(1);
      assertThat(cache.invalidate("m1", null)).isEqualTo(1);
      assertThat(cache.invalidate(null, "b")).isEqualTo(1);
      assertThat(cache.get(key("a", "m2", 1))).isNotNull();
      assertThat(cache.invalidate(null, null)).isEqualTo(1);
      assertThat(cache.entries()).isZero();
    }
  }

  @Test
  void redisKeysCannotBeConfusedByNames() {
    try (ResponseCache cache = new ResponseCache(1 << 20, 1 << 20, ticker, null, "p:")) {
      assertThat(cache.redisKey(new ResponseCache.Key("key:k_1", "gpt*:x", "abc")))
          .isEqualTo("p:key%3Ak_1:gpt%2A%3Ax:abc");
    }
  }
}
