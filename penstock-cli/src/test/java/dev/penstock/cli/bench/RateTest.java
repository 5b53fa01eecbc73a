package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RateTest {

  @ParameterizedTest
  @CsvSource({
    "20/s, 20, 1200",
    "20, 20, 1200",
    "2.5, 2.5, 150",
    "1500/m, 25, 1500",
    "1500/min, 25, 1500",
    "1500 / MIN, 25, 1500",
    "3600/h, 1, 60"
  })
  void parsesRequestsPerUnit(String text, double perSecond, double perMinute) {
    Rate rate = Rate.parse(text);

    assertThat(rate.perSecond()).isEqualTo(perSecond);
    assertThat(rate.perMinute()).isEqualTo(perMinute);
  }

  @Test
  void keepsTheUnitTheUserTyped() {
    assertThat(Rate.parse("1500/m")).hasToString("1500/min");
    assertThat(Rate.parse("20")).hasToString("20/s");
    assertThat(Rate.parse("0.5/s")).hasToString("0.5/s");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "fast", "-5/s", "0", "0/m", "20/d", "20/", "1e3"})
  void rejectsWhatIsNotARate(String text) {
    assertThatIllegalArgumentException().isThrownBy(() -> Rate.parse(text));
  }

  @Test
  void dueOffsetsAreExactMultiplesOfTheInterval() {
    Rate rate = Rate.perMinute(200); // one request per 300 ms

    assertThat(rate.offsetNanos(0)).isZero();
    assertThat(rate.offsetNanos(1)).isEqualTo(300_000_000L);
    assertThat(rate.offsetNanos(10)).isEqualTo(3_000_000_000L);
    // Computed from the index, so no drift builds up over a long run.
    assertThat(rate.offsetNanos(200 * 60 * 24)).isEqualTo(86_400_000_000_000L);
  }
}
