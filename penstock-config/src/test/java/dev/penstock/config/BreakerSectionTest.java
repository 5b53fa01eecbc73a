package dev.penstock.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.core.health.BreakerPolicy;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.nodes.Node;

class BreakerSectionTest {
  private static final BreakerSection DEFAULTS =
      new BreakerSection(5, 0.5, 20, 30_000, 10_000, 300_000);

  private final YamlReader reader = new YamlReader(Map.of("RATE", "0.75")::get);

  private BreakerSection read(String yaml) {
    Node node =
        YamlReader.compose(
            yaml, problems -> new IllegalStateException(String.join("; ", problems)));
    return BreakerSection.read(reader, node, DEFAULTS);
  }

  @Test
  void everyFieldIsRead() {
    assertThat(
            read(
                """
                consecutive_failures: 3
                error_rate: ${RATE}
                min_requests: 10
                window_ms: 1000
                open_ms: 2000
                max_open_ms: 4000
                """))
        .isEqualTo(new BreakerSection(3, 0.75, 10, 1_000, 2_000, 4_000));
    assertThat(reader.problems()).isEmpty();
  }

  @Test
  void anEmptySectionKeepsTheDefaults() {
    assertThat(read("{}")).isEqualTo(DEFAULTS);
    assertThat(read("[]")).isEqualTo(DEFAULTS);
    assertThat(reader.problems()).containsExactly("circuit_breaker (line 1): must be a mapping");
  }

  @Test
  void invalidFieldsAreReportedInFileOrderOfReadingAndKeepTheirDefaults() {
    BreakerSection read =
        read("error_rate: 1.5\nopen_ms: 9000\nmax_open_ms: 10\nwindow_ms: 999\nflaky: 1\n");
    assertThat(read).isEqualTo(new BreakerSection(5, 0.5, 20, 30_000, 9_000, 9_000));
    assertThat(reader.problems())
        .isEqualTo(
            List.of(
                "circuit_breaker.flaky (line 5): unknown field; known: consecutive_failures,"
                    + " error_rate, max_open_ms, min_requests, open_ms, window_ms",
                "circuit_breaker.error_rate (line 1): must be a number from 0 to 1 (0 = off)",
                "circuit_breaker.max_open_ms (line 1): must be at least open_ms",
                "circuit_breaker.window_ms (line 4): must be a whole number from 1000 to 3600000,"
                    + " got '999'"));
  }

  @Test
  void zeroTurnsTheErrorRateOff() {
    assertThat(read("error_rate: 0\n").errorRate()).isZero();
    assertThat(reader.problems()).isEmpty();
  }

  @Test
  void thePolicyIsCoresDefaultWithTheFileApplied() {
    Node node =
        YamlReader.compose(
            "open_ms: 2000\nmax_open_ms: 4000\n",
            problems -> new IllegalStateException(String.join("; ", problems)));
    BreakerPolicy policy = BreakerSection.policy(reader, node);
    BreakerPolicy d = BreakerPolicy.DEFAULT;
    assertThat(policy)
        .isEqualTo(
            new BreakerPolicy(
                d.consecutiveFailures(),
                d.errorRate(),
                d.minRequests(),
                d.windowNanos(),
                2_000_000_000L,
                4_000_000_000L));
    assertThat(BreakerSection.of(d).toPolicy()).isEqualTo(d);
  }
}
