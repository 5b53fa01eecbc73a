package dev.penstock.mock;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OpenAiDurationsTest {
  private static final long MS = 1_000_000L;

  @Test
  void formatsLikeOpenAi() {
    assertThat(OpenAiDurations.format(0)).isEqualTo("0s");
    assertThat(OpenAiDurations.format(20 * MS)).isEqualTo("20ms");
    assertThat(OpenAiDurations.format(999 * MS)).isEqualTo("999ms");
    assertThat(OpenAiDurations.format(1000 * MS)).isEqualTo("1s");
    assertThat(OpenAiDurations.format(1500 * MS)).isEqualTo("1.5s");
    assertThat(OpenAiDurations.format(59_729 * MS)).isEqualTo("59.729s");
    assertThat(OpenAiDurations.format(360_000 * MS)).isEqualTo("6m0s");
    assertThat(OpenAiDurations.format(3_723_250 * MS)).isEqualTo("1h2m3.25s");
  }

  @Test
  void roundsUpToTheMillisecondSoThatWaitingTheAdvertisedTimeIsEnough() {
    assertThat(OpenAiDurations.format(1)).isEqualTo("1ms");
    assertThat(OpenAiDurations.format(20 * MS + 1)).isEqualTo("21ms");
  }
}
