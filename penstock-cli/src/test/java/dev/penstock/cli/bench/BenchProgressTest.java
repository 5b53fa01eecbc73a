package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchProgressTest {
  private static final long SECOND = 1_000_000_000L;

  private static ProgressSnapshot snapshot(long elapsedMillis, boolean draining) {
    return new ProgressSnapshot(
        elapsedMillis * 1_000_000,
        30 * SECOND,
        Long.MAX_VALUE,
        600,
        0,
        590,
        10,
        draining,
        Map.of("2xx", 570L, "429", 15L, "500", 5L));
  }

  @Test
  void showsProgressByTimeAndTheCountsThatMatter() {
    assertThat(BenchProgress.renderBar(snapshot(15_000, false), false))
        .isEqualTo(
            "[############------------]  50%  15.0s  sent 600  ok 570  429 15  err 5"
                + "  in flight 10  2280 ok/min");
  }

  @Test
  void saysWhenItWaitsForTheLastAnswersAndWhenItIsDone() {
    assertThat(BenchProgress.renderBar(snapshot(31_000, true), false))
        .startsWith("[########################] draining  31.0s");
    assertThat(BenchProgress.renderBar(snapshot(32_000, true), true))
        .startsWith("[########################] done  32.0s");
  }

  @Test
  void onATerminalRedrawsTheBarInPlaceAndEndsWithANewline() {
    StringWriter terminal = new StringWriter();
    BenchProgress bar = BenchProgress.bar(new PrintWriter(terminal));

    bar.onProgress(snapshot(15_000, false));
    bar.onFinished(snapshot(31_000, true));

    assertThat(terminal.toString()).startsWith("\r[").contains("\r[####").endsWith("\n");
  }

  @Test
  void inALogPrintsAPlainLineEveryFiveSecondsAndTheLastOne() {
    StringWriter log = new StringWriter();
    BenchProgress lines = BenchProgress.lines(new PrintWriter(log));

    // The run reports every 100 ms, as BenchRun does; 12.3 s of it.
    for (long millis = 100; millis <= 12_300; millis += 100) {
      lines.onProgress(snapshot(millis, false));
    }
    lines.onFinished(snapshot(12_400, true));

    assertThat(log.toString())
        .doesNotContain("\r")
        .doesNotContain("[#")
        .isEqualTo(
            """
            penstock bench:  17%   5.0s  sent 600  ok 570  429 15  err 5  in flight 10  6840 ok/min
            penstock bench:  33%  10.0s  sent 600  ok 570  429 15  err 5  in flight 10  3420 ok/min
            penstock bench: done  12.4s  sent 600  ok 570  429 15  err 5  in flight 10  2758 ok/min
            """
                .replace("\n", System.lineSeparator()));
  }

  @Test
  void quietShowsNothingAndProgressForcesTheBar() {
    StringWriter err = new StringWriter();
    BenchCommand command = new BenchCommand(ProgressStyle.LINES);
    new picocli.CommandLine(command).parseArgs("--quiet");
    command.progress(new PrintWriter(err)).onFinished(snapshot(1_000, true));
    assertThat(err.toString()).isEmpty();

    BenchCommand forced = new BenchCommand(ProgressStyle.LINES);
    new picocli.CommandLine(forced).parseArgs("--progress");
    forced.progress(new PrintWriter(err)).onFinished(snapshot(1_000, true));
    assertThat(err.toString()).startsWith("\r[");
  }
}
