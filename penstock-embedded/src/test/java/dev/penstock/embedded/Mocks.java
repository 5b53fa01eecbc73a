package dev.penstock.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** The provider simulator in process, and helpers the embedded tests share. */
final class Mocks {
  private Mocks() {}

  static final String MODEL = "gpt-4o-mini";

  /** A simulator with {@code keys}, a small latency and short answers. */
  static MockServer start(KeySpec... keys) {
    MockConfig.Builder builder =
        MockConfig.builder().port(0).latency(new LatencyModel(5, 0.5, 0)).outputTokens(8).seed(7);
    for (KeySpec key : keys) {
      builder.addKey(key);
    }
    return MockServer.start(builder.build());
  }

  /** A deployment of {@code key} on {@code mock}, with the key's own limits. */
  static Deployment deployment(MockServer mock, KeySpec key) {
    return Deployment.builder(key.name())
        .baseUrl(mock.baseUrl())
        .apiKey(key.secret())
        .rpm(key.rpm())
        .tpm(key.tpm())
        .build();
  }

  static Model model(MockServer mock) {
    List<Deployment> deployments = mock.keys().stream().map(key -> deployment(mock, key)).toList();
    return new Model(MODEL, deployments, List.of());
  }

  /** Settings for tests: a short pacing guard, quick retries. */
  static Settings settings() {
    return Settings.DEFAULT
        .withPacingGuard(Duration.ofMillis(100))
        .withRetry(
            new dev.penstock.core.retry.RetryPolicy(
                3, Duration.ofMillis(20).toNanos(), Duration.ofMillis(100).toNanos()),
            false);
  }

  static byte[] chat(boolean stream) {
    return ("{\"model\":\""
            + MODEL
            + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],\"max_tokens\":16"
            + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "")
            + "}")
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Polls {@code condition} for up to {@code limit}; fails with {@code what} if it never holds. */
  static void await(String what, Duration limit, BooleanSupplier condition) {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("waiting for: " + what).isNegative();
      LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
    }
  }

  /** The live threads whose name says they are Penstock's. */
  static List<String> penstockThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        .filter(name -> name.startsWith("penstock-"))
        .toList();
  }
}
