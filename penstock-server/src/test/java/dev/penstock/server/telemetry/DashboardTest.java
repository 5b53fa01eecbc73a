package dev.penstock.server.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The dashboard's memory on a fake wall clock: seconds, percentiles, the ring, the error list. */
class DashboardTest {
  private static final long START_MILLIS = 1_000_000_000L; // second 1,000,000
  private final AtomicLong wall = new AtomicLong(START_MILLIS);
  private final PoolSnapshot pool =
      new PoolSnapshot(
          List.of(
              new PoolSnapshot.Deployment(
                  "gpt-5", "key-1", "enabled", "closed", 200, 150, 40_000, 30_000, 2, 0, -1, -1)),
          Map.of("gpt-5", Map.of("high", 1, "normal", 4, "low", 0)));
  private final Dashboard dashboard =
      new Dashboard(wall::get, () -> pool, new Redactor(() -> List.of("sk-secret-1234")), "test");
  private int ids;

  private RequestRecord request(long totalMillis, int status, String message) {
    RequestRecord r = new RequestRecord("req_" + ids++, "/v1/chat/completions", 0, wall.get());
    r.request("gpt-5", false);
    r.attempt("key-1");
    r.addQueueNanos(totalMillis * 100_000); // a tenth of the time queued
    r.usage(100, 20);
    r.answered(status, totalMillis * 1_000_000);
    if (status != 200) {
      r.failed(status == 429 ? Outcome.OVERLOADED : Outcome.UPSTREAM_ERROR, "code", message);
    }
    r.end(totalMillis * 1_000_000);
    return r;
  }

  @Test
  void countsEachSecondWithItsMeanAndP95() {
    for (int i = 0; i < 100; i++) {
      dashboard.completed(request(10, 200, null));
    }
    for (int i = 0; i < 5; i++) {
      dashboard.completed(request(1_000, 200, null));
    }
    wall.addAndGet(1_000);
    dashboard.completed(request(400, 502, "broke"));

    JsonNode state = dashboard.state();
    JsonNode series = state.path("series");
    assertThat(series).hasSize(2); // since the start, not five minutes of zeros
    JsonNode first = series.get(0);
    assertThat(first.path("t").asLong()).isEqualTo(1_000_000);
    assertThat(first.path("requests").asLong()).isEqualTo(105);
    assertThat(first.path("tokens").asLong()).isEqualTo(105 * 120);
    assertThat(first.path("latency_mean_ms").asDouble()).isEqualTo(57.1); // (1000 + 5000) / 105
    // The 100th of 105 is a 10 ms request: its bucket's upper bound is 1.25^11 ms.
    assertThat(first.path("latency_p95_ms").asDouble()).isEqualTo(11.6);
    assertThat(series.get(1).path("errors").asLong()).isEqualTo(1);
    assertThat(series.get(1).path("queue_depth").asLong()).isEqualTo(5); // sampled now
    assertThat(state.path("totals").path("requests").asLong()).isEqualTo(106);
    assertThat(state.path("totals").path("errors").asLong()).isEqualTo(1);
    assertThat(state.path("totals").path("error_rate").asDouble()).isEqualTo(0.0094);
    assertThat(state.path("queue").path("depth").path("normal").asInt()).isEqualTo(4);
    JsonNode key = state.path("deployments").get(0);
    assertThat(key.path("rpm_used").asLong()).isEqualTo(150);
    assertThat(key.path("requests_total").asLong()).isEqualTo(106);
    assertThat(key.path("errors_total").asLong()).isEqualTo(1);
  }

  @Test
  void keepsFiveMinutesAndReusesASecondsBucketWhenItComesRound() {
    dashboard.completed(request(10, 200, null)); // second 1,000,000
    wall.addAndGet(300_000); // second 1,000,300: the same bucket of the ring
    dashboard.completed(request(10, 200, null));
    dashboard.completed(request(10, 200, null));

    JsonNode series = dashboard.state().path("series");
    assertThat(series).hasSize(300);
    assertThat(series.get(0).path("t").asLong()).isEqualTo(1_000_001);
    assertThat(series.get(299).path("t").asLong()).isEqualTo(1_000_300);
    assertThat(series.get(299).path("requests").asLong()).isEqualTo(2);
    long total = 0;
    for (JsonNode second : series) {
      total += second.path("requests").asLong();
    }
    assertThat(total).as("the first second has left the window").isEqualTo(2);
  }

  @Test
  void listsTheLastFiftyErrorsNewestFirstWithoutSecrets() {
    for (int i = 0; i < 60; i++) {
      dashboard.completed(request(5, 502, "upstream said sk-secret-1234 is bad #" + i));
    }
    dashboard.completed(request(5, 200, null));

    JsonNode errors = dashboard.state().path("recent_errors");
    assertThat(errors).hasSize(Dashboard.MAX_ERRORS);
    assertThat(errors.get(0).path("message").asText())
        .isEqualTo("upstream said [redacted] is bad #59");
    assertThat(errors.get(49).path("message").asText()).endsWith("#10");
    assertThat(errors.get(0).path("status").asInt()).isEqualTo(502);
    assertThat(errors.toString()).doesNotContain("sk-secret");
  }

  @Test
  void percentileBucketsCoverMillisecondsToMinutes() {
    assertThat(Dashboard.bucket(0)).isZero();
    assertThat(Dashboard.bucket(1_000_000)).isZero();
    assertThat(Dashboard.bucket(1_250_000)).isEqualTo(1);
    assertThat(Dashboard.bucket(Long.MAX_VALUE)).isEqualTo(63);
    assertThat(Dashboard.p95Millis(new int[64])).isZero();
  }
}
