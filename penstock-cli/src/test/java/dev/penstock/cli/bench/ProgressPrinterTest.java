package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Both printers, with time handed in as the run's elapsed nanoseconds: no clock, no waiting. */
class ProgressPrinterTest {
  private static final long MILLI = 1_000_000L;

  private final StringWriter output = new StringWriter();

  private List<String> lines() {
    return output.toString().lines().toList();
  }

  @Test
  void periodicPrintsWhenEachIntervalIsReachedNotOnEveryUpdate() {
    ProgressPrinter printer = ProgressPrinter.everyFewSeconds(new PrintWriter(output));

    for (long millis = 0; millis <= 15_000; millis += 100) {
      printer.update(millis * MILLI, "t=" + millis + "ms");
    }
    printer.finish("final");

    assertThat(lines()).containsExactly("t=5000ms", "t=10000ms", "t=15000ms", "final");
    assertThat(output.toString()).doesNotContain("\r");
  }

  @Test
  void aLateUpdatePrintsOnceAndDoesNotCatchUp() {
    ProgressPrinter printer = new PeriodicPrinter(new PrintWriter(output), Duration.ofSeconds(5));

    printer.update(4_900 * MILLI, "t=4.9s");
    printer.update(17_200 * MILLI, "t=17.2s"); // a stalled caller: three intervals at once
    printer.update(19_900 * MILLI, "t=19.9s");
    printer.update(20_000 * MILLI, "t=20s");

    assertThat(lines()).containsExactly("t=17.2s", "t=20s");
  }

  @Test
  void aShortRunStillLeavesItsLastLine() {
    ProgressPrinter printer = ProgressPrinter.everyFewSeconds(new PrintWriter(output));

    printer.update(300 * MILLI, "t=0.3s");
    printer.finish("done at 0.4s");

    assertThat(lines()).containsExactly("done at 0.4s");
  }

  @Test
  void periodicNeedsAPositiveInterval() {
    assertThatThrownBy(() -> new PeriodicPrinter(new PrintWriter(output), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void redrawingOverwritesTheLineAndCoversALongerOne() {
    ProgressPrinter printer = ProgressPrinter.redrawing(new PrintWriter(output));

    printer.update(100 * MILLI, "long line");
    printer.update(200 * MILLI, "short");
    printer.finish("end");

    assertThat(output.toString())
        .isEqualTo("\rlong line\rshort    \rend  " + System.lineSeparator());
  }

  @Test
  void theStyleFollowsWhatStderrIs() {
    assertThat(ProgressStyle.ofStderrTarget("/dev/pts/3")).isEqualTo(ProgressStyle.BAR);
    assertThat(ProgressStyle.ofStderrTarget("/dev/tty1")).isEqualTo(ProgressStyle.BAR);
    assertThat(ProgressStyle.ofStderrTarget("pipe:[48213]")).isEqualTo(ProgressStyle.LINES);
    assertThat(ProgressStyle.ofStderrTarget("/var/log/bench.log")).isEqualTo(ProgressStyle.LINES);
    assertThat(ProgressStyle.ofStderrTarget("/dev/null")).isEqualTo(ProgressStyle.LINES);
    assertThat(ProgressStyle.BAR.printer(new PrintWriter(output)))
        .isInstanceOf(RedrawingPrinter.class);
    assertThat(ProgressStyle.LINES.printer(new PrintWriter(output)))
        .isInstanceOf(PeriodicPrinter.class);
  }
}
