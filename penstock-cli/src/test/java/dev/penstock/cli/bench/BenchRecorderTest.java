package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BenchRecorderTest {
  private static final long START = 5_000_000_000L;
  private static final long MS = 1_000_000L;
  private static final Instant STARTED_AT = Instant.parse("2025-01-01T12:00:00Z");

  private final BenchOptions options =
      BenchOptions.builder().rate(Rate.perSecond(10)).duration(Duration.ofSeconds(10)).build();
  private final BenchRecorder recorder = new BenchRecorder(START, 80);
  private BenchResult result;

  private static Completion ok(long endNanos, long input, long output) {
    return new Completion(Outcome.OK, endNanos, Completion.NONE, input, output, -1, "");
  }

  @Test
  void throughputIsSuccessesPerMinuteOfElapsedTime() {
    // 100 requests due every 100 ms over 10 s; each answered 1..100 ms after its due time.
    for (int i = 0; i < 100; i++) {
      long due = START + i * 100L * MS;
      recorder.sent(due, due);
      recorder.completed(due, ok(due + (i + 1) * MS, 10, 5));
    }
    result = recorder.result(options, STARTED_AT, START + 10_000 * MS);

    assertThat(result.elapsedSeconds()).isEqualTo(10.0);
    assertThat(result.throughputPerMinute()).isEqualTo(600.0);
    assertThat(result.offeredPerMinute()).isEqualTo(600.0);
    assertThat(result.tokensPerMinute()).isEqualTo(100 * 15 * 6.0);
    assertThat(result.inputTokens()).isEqualTo(1_000);
    assertThat(result.outputTokens()).isEqualTo(500);
  }

  @Test
  void latencyPercentilesComeFromTheDueTime() {
    for (int i = 1; i <= 100; i++) {
      long due = START + i * MS;
      recorder.sent(due, due + 2 * MS); // sent late: still measured from due
      recorder.completed(due, ok(due + i * MS, 0, 0));
    }
    result = recorder.result(options, STARTED_AT, START + 10_000 * MS);

    Percentiles latency = result.latency();
    assertThat(latency.count()).isEqualTo(100);
    // HdrHistogram keeps 3 significant digits: values are exact to 0.1 %.
    assertThat(latency.p50Millis()).isCloseTo(50, within(0.05));
    assertThat(latency.p90Millis()).isCloseTo(90, within(0.09));
    assertThat(latency.p99Millis()).isCloseTo(99, within(0.1));
    assertThat(latency.maxMillis()).isCloseTo(100, within(0.1));
    assertThat(result.sendLag().maxMillis()).isCloseTo(2, within(0.01));
  }

  @Test
  void latencyCoversSuccessesOnlyButCountsEveryOutcome() {
    long due = START;
    recorder.sent(due, due);
    recorder.completed(due, ok(due + 100 * MS, 1, 1));
    recorder.sent(due, due);
    recorder.completed(due, new Completion(Outcome.ofStatus(429), due + MS, -1, 0, 0, 1_500, "a"));
    recorder.sent(due, due);
    recorder.completed(due, Completion.failed(Outcome.TIMEOUT, due + 60_000 * MS));
    recorder.dropped(due);
    result = recorder.result(options, STARTED_AT, START + 10_000 * MS);

    assertThat(result.statusCounts())
        .containsExactly(
            Map.entry("2xx", 1L),
            Map.entry("429", 1L),
            Map.entry("dropped", 1L),
            Map.entry("timeout", 1L));
    assertThat(result.latency().count()).isEqualTo(1);
    assertThat(result.queue().p50Millis()).isCloseTo(1.5, within(0.01));
    assertThat(result.deployments()).containsExactly(Map.entry("a", 1L));
    // The timeout ended 60 s after the start: the run lasted that long.
    assertThat(result.elapsedSeconds()).isEqualTo(60.0);
  }

  @Test
  void timelineCountsByDueSecondAndEndSecond() {
    recorder.sent(START, START);
    recorder.completed(START, ok(START + 1_500 * MS, 3, 4));
    recorder.sent(START + 1_200 * MS, START + 1_200 * MS);
    recorder.completed(
        START + 1_200 * MS, Completion.failed(Outcome.ofStatus(429), START + 2_100 * MS));
    result = recorder.result(options, STARTED_AT, START + 2_500 * MS);

    assertThat(result.timeline())
        .containsExactly(
            new TimelineSecond(0, 1, 0, 0, 0, 0),
            new TimelineSecond(1, 1, 1, 0, 0, 7),
            new TimelineSecond(2, 0, 0, 1, 0, 0));
  }

  @Test
  void tooManyDistinctDeploymentNamesAreLumpedTogether() {
    for (int i = 0; i < BenchRecorder.MAX_DEPLOYMENTS + 5; i++) {
      recorder.sent(START, START);
      recorder.completed(
          START, new Completion(Outcome.OK, START + MS, -1, 0, 0, -1, "deployment-" + i));
    }
    result = recorder.result(options, STARTED_AT, START + 10_000 * MS);

    assertThat(result.deployments()).hasSize(BenchRecorder.MAX_DEPLOYMENTS + 1);
    assertThat(result.deployments().get(BenchRecorder.OTHER_DEPLOYMENTS)).isEqualTo(5);
  }

  @AfterEach
  void countsAddUp() {
    long outcomes = result.statusCounts().values().stream().mapToLong(Long::longValue).sum();
    assertThat(outcomes).isEqualTo(result.sent() + result.dropped());
    assertThat(result.completed()).isEqualTo(result.sent());
    long timelineSent = result.timeline().stream().mapToLong(TimelineSecond::sent).sum();
    assertThat(timelineSent).isEqualTo(result.sent() + result.dropped());
  }
}
