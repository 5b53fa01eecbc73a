package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProgressBarTest {
  private static final long SECOND = 1_000_000_000L;

  private static ProgressSnapshot snapshot(long elapsedSeconds, boolean draining) {
    return new ProgressSnapshot(
        elapsedSeconds * SECOND,
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
    assertThat(ProgressBar.render(snapshot(15, false)))
        .isEqualTo(
            "[############------------]  50%  15.0s  sent 600  ok 570  429 15  err 5"
                + "  in flight 10  2280 ok/min");
  }

  @Test
  void saysWhenItWaitsForTheLastAnswers() {
    assertThat(ProgressBar.render(snapshot(31, true)))
        .startsWith("[########################] draining  31.0s");
  }

  @Test
  void redrawsInPlaceAndEndsWithANewline() {
    StringWriter terminal = new StringWriter();
    ProgressBar bar = new ProgressBar(new PrintWriter(terminal));

    bar.onProgress(snapshot(15, false));
    bar.onFinished(snapshot(31, true));

    assertThat(terminal.toString()).startsWith("\r[").contains("\r[####").endsWith("\n");
  }
}
