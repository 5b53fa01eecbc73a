package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

  @ParameterizedTest
  @CsvSource({
    "500ms, 500",
    "90s, 90000",
    "90, 90000",
    "0.1s, 100",
    "2m, 120000",
    "2min, 120000",
    "1.5h, 5400000",
    " 30 S , 30000"
  })
  void parsesShortDurations(String text, long millis) {
    assertThat(Durations.parse(text)).isEqualTo(Duration.ofMillis(millis));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "soon", "-1s", "10d", "1m30s", "s"})
  void rejectsWhatIsNotADuration(String text) {
    assertThatIllegalArgumentException().isThrownBy(() -> Durations.parse(text));
  }

  @ParameterizedTest
  @ValueSource(strings = {"500ms", "90s", "2m", "1500ms", "45s"})
  void formatsWhatItParses(String text) {
    assertThat(Durations.format(Durations.parse(text))).isEqualTo(text);
  }
}
