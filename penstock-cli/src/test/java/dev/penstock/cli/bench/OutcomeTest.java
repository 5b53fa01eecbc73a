package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OutcomeTest {

  @ParameterizedTest
  @CsvSource({
    "200, 2xx, OK",
    "201, 2xx, OK",
    "204, 2xx, OK",
    "429, 429, RATE_LIMITED",
    "400, 400, ERROR",
    "500, 500, ERROR",
    "503, 503, ERROR",
    "302, 302, ERROR"
  })
  void classifiesStatusCodes(int status, String label, Outcome.Kind kind) {
    assertThat(Outcome.ofStatus(status)).isEqualTo(new Outcome(label, kind));
  }

  @Test
  void failuresWithoutAStatusHaveStableLabels() {
    assertThat(
            List.of(
                Outcome.CONNECTION_ERROR,
                Outcome.TIMEOUT,
                Outcome.STREAM_ERROR,
                Outcome.BAD_BODY,
                Outcome.DROPPED,
                Outcome.CLIENT_ERROR))
        .extracting(Outcome::label)
        .containsExactly(
            "connection_error", "timeout", "stream_error", "bad_body", "dropped", "client_error");
  }

  @Test
  void reportsList2xxFirstThenStatusesThenFailures() {
    TreeMap<String, Long> counts = new TreeMap<>(Outcome.LABEL_ORDER);
    for (String label : List.of("timeout", "500", "2xx", "429", "connection_error", "404")) {
      counts.put(label, 1L);
    }

    assertThat(counts.keySet())
        .containsExactly("2xx", "404", "429", "500", "connection_error", "timeout");
  }
}
