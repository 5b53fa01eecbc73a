package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class SummaryJsonTest {

  @Test
  void fieldNamesAreStableSnakeCase() throws Exception {
    JsonNode json = new ObjectMapper().readTree(SummaryJson.render(SampleResults.openLoopStream()));

    assertThat(json.fieldNames())
        .toIterable()
        .containsExactly(
            "url",
            "endpoint",
            "model",
            "stream",
            "mode",
            "rate_per_second",
            "duration_seconds",
            "prompt_tokens",
            "max_tokens",
            "limit_rpm",
            "started_at",
            "elapsed_seconds",
            "sent",
            "dropped",
            "completed",
            "succeeded",
            "throughput_per_minute",
            "offered_per_minute",
            "tokens_per_minute",
            "input_tokens",
            "output_tokens",
            "status_counts",
            "latency_ms",
            "ttft_ms",
            "queue_ms",
            "send_lag_ms",
            "deployments",
            "timeline");
    assertThat(json.path("latency_ms").fieldNames())
        .toIterable()
        .containsExactly("count", "p50", "p90", "p99", "max");
    assertThat(json.path("timeline").path(0).fieldNames())
        .toIterable()
        .containsExactly("second", "sent", "ok", "rate_limited", "errors", "tokens");
  }

  @Test
  void valuesMatchTheResult() throws Exception {
    BenchResult result = SampleResults.openLoopStream();
    JsonNode json = new ObjectMapper().readTree(SummaryJson.render(result));

    assertThat(json.path("mode").asText()).isEqualTo("open_loop");
    assertThat(json.path("endpoint").asText()).isEqualTo("chat");
    assertThat(json.path("rate_per_second").asDouble()).isEqualTo(20.0);
    assertThat(json.path("throughput_per_minute").asDouble())
        .isEqualTo(result.throughputPerMinute());
    assertThat(json.at("/status_counts/2xx").asLong()).isEqualTo(result.succeeded());
    assertThat(json.at("/status_counts/429").asLong()).isEqualTo(1);
    assertThat(json.at("/deployments/org-a").asLong()).isEqualTo(2);
  }

  @Test
  void closedLoopWithoutStreamOmitsWhatItDidNotMeasure() throws Exception {
    JsonNode json = new ObjectMapper().readTree(SummaryJson.render(SampleResults.closedLoop()));

    assertThat(json.path("mode").asText()).isEqualTo("closed_loop");
    assertThat(json.path("concurrency").asInt()).isEqualTo(8);
    assertThat(json.has("rate_per_second")).isFalse();
    assertThat(json.has("ttft_ms")).isFalse();
    assertThat(json.has("queue_ms")).isFalse();
    assertThat(json.has("deployments")).isFalse();
    assertThat(json.has("limit_rpm")).isFalse();
  }
}
