package dev.penstock.cli.bench;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;

/** Results built through a real {@link BenchRecorder} from scripted completions. */
final class SampleResults {
  private static final long START = 0;
  private static final long MS = 1_000_000L;
  private static final Instant STARTED_AT = Instant.parse("2025-01-01T12:00:00Z");

  private SampleResults() {}

  /** An open-loop stream at 20/s for 3 s with a limit, a 429 and gateway headers. */
  static BenchResult openLoopStream() {
    return openLoopStream(URI.create("http://127.0.0.1:8080/v1"), "gpt-4o-mini");
  }

  static BenchResult openLoopStream(URI url, String model) {
    BenchOptions options =
        BenchOptions.builder().baseUrl(url).model(model).stream(true)
            .rate(Rate.perSecond(20))
            .duration(Duration.ofSeconds(3))
            .limitRpm(1_000)
            .build();
    BenchRecorder recorder = new BenchRecorder(START, 70);
    for (int i = 0; i < 60; i++) {
      long due = START + i * 50L * MS;
      recorder.sent(due, due);
      if (i == 7) {
        recorder.completed(
            due, new Completion(Outcome.ofStatus(429), due + MS, -1, 0, 0, 2_000, "org-a"));
      } else {
        String deployment = i == 3 ? "org-a" : "";
        recorder.completed(
            due,
            new Completion(
                Outcome.OK, due + (20 + i) * MS, due + 10 * MS, 64, 16, 1_000, deployment));
      }
    }
    return recorder.result(options, STARTED_AT, START + 3_000 * MS);
  }

  /** A closed-loop non-stream run with plain answers only. */
  static BenchResult closedLoop() {
    BenchOptions options = BenchOptions.builder().duration(Duration.ofSeconds(2)).build();
    BenchRecorder recorder = new BenchRecorder(START, 70);
    for (int i = 0; i < 10; i++) {
      long due = START + i * 100L * MS;
      recorder.sent(due, due);
      recorder.completed(due, new Completion(Outcome.OK, due + 5 * MS, -1, 10, 10, -1, ""));
    }
    return recorder.result(options, STARTED_AT, START + 2_000 * MS);
  }
}
