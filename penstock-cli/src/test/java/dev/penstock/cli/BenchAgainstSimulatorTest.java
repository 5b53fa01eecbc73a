package dev.penstock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.cli.bench.BenchOptions;
import dev.penstock.cli.bench.BenchResult;
import dev.penstock.cli.bench.BenchRun;
import dev.penstock.cli.bench.Rate;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The two instruments against each other: bench offers twice a key's RPM to the simulator, and both
 * must count exactly the 429s that a sliding 60-second window implies.
 */
@Tag("e2e")
class BenchAgainstSimulatorTest {
  @Test
  void twiceTheRpmOfAKeyGetsExactlyTheExpected429s() throws Exception {
    // 300 RPM, offered at 600/min for 36 s: 360 requests spread evenly, all inside one 60 s window
    // of the first. The window admits 300; exactly 60 must be refused.
    MockConfig config =
        MockConfig.builder()
            .port(0)
            .latency(LatencyModel.ZERO)
            .addKey(KeySpec.of("key-0", "sk-bench-e2e-000001", 300, 10_000_000))
            .build();
    try (MockServer mock = MockServer.start(config)) {
      BenchOptions options =
          BenchOptions.builder()
              .baseUrl(URI.create(mock.baseUrl()))
              .apiKey("sk-bench-e2e-000001")
              .rate(Rate.perMinute(600))
              .duration(Duration.ofSeconds(36))
              .promptTokens(32)
              .maxTokens(16)
              .build();
      BenchResult result = BenchRun.run(options, snapshot -> {});

      assertThat(result.sent()).isEqualTo(360);
      assertThat(result.statusCounts()).containsEntry("2xx", 300L).containsEntry("429", 60L);
      KeyStats key = mock.stats().getFirst();
      assertThat(key.succeeded()).isEqualTo(300);
      assertThat(key.rateLimitedRequests()).isEqualTo(60);
      assertThat(key.peakRequests60s()).isEqualTo(360);
      // Evenly offered at 10/s: no calendar second saw more than 11 arrivals.
      assertThat(key.peakRequests1s()).isLessThanOrEqualTo(11);
    }
  }
}
