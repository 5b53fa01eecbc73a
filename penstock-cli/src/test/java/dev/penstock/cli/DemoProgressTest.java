package dev.penstock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.cli.bench.ProgressListener;
import dev.penstock.cli.bench.ProgressSnapshot;
import dev.penstock.cli.bench.ProgressStyle;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The demo's two-run progress line, in both styles; time is each snapshot's elapsed time. */
class DemoProgressTest {
  private static final long MILLI = 1_000_000L;

  private final StringWriter err = new StringWriter();

  private static ProgressSnapshot snapshot(long elapsedMillis, long sent, long ok, boolean end) {
    return new ProgressSnapshot(
        elapsedMillis * MILLI,
        120_000 * MILLI,
        Long.MAX_VALUE,
        sent,
        0,
        sent,
        0,
        end,
        Map.of("2xx", ok, "429", sent - ok));
  }

  /** Both runs report every 100 ms, interleaved, as their two threads do, for 11 s. */
  private void run(DemoProgress progress) {
    ProgressListener a = progress.side("A");
    ProgressListener b = progress.side("B");
    for (long millis = 100; millis <= 11_000; millis += 100) {
      a.onProgress(snapshot(millis, millis / 40, millis / 80, false));
      b.onProgress(snapshot(millis, millis / 40, millis / 40, false));
    }
    a.onProgress(snapshot(11_100, 275, 137, true));
    progress.finish();
  }

  @Test
  void withoutATerminalPrintsAPlainLineEveryFiveSeconds() {
    // A's update at 5 s prints the line, before B has reported its own 5 s: B's counts are from
    // 4.9 s. The final line has both runs' last counts.
    run(new DemoProgress(ProgressStyle.LINES.printer(new PrintWriter(err))));

    assertThat(err.toString())
        .doesNotContain("\r")
        .isEqualTo(
            """
                5s  | A sent 125 ok 62 429 63 | B sent 122 ok 122 429 0
               10s  | A sent 250 ok 125 429 125 | B sent 247 ok 247 429 0
               11s  | A sent 275 ok 137 429 138 (draining) | B sent 275 ok 275 429 0
            """
                .replace("\n", System.lineSeparator()));
  }

  @Test
  void onATerminalRedrawsOneLineInPlace() {
    run(new DemoProgress(ProgressStyle.BAR.printer(new PrintWriter(err))));

    String output = err.toString();
    assertThat(output).startsWith("\r").endsWith(System.lineSeparator());
    assertThat(output.chars().filter(c -> c == '\n')).hasSize(1);
    assertThat(output.split("\r")).hasSize(1 + 2 * 110 + 1 + 1); // "", updates, draining, finish
  }
}
