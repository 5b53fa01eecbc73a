package dev.penstock.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.core.retry.RetryPolicy;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.nodes.Node;

class RetrySectionTest {
  private final YamlReader reader = new YamlReader(Map.of("TRIES", "4")::get);

  private RetrySection read(String yaml) {
    Node node =
        YamlReader.compose(
            yaml, problems -> new IllegalStateException(String.join("; ", problems)));
    return RetrySection.read(reader, node);
  }

  @Test
  void everyFieldIsRead() {
    assertThat(
            read(
                """
                attempts: ${TRIES}
                backoff_base_ms: 10
                backoff_cap_ms: 20
                on_timeout: true
                """))
        .isEqualTo(new RetrySection(new RetryPolicy(4, 10_000_000L, 20_000_000L), true));
    assertThat(reader.problems()).isEmpty();
  }

  @Test
  void absentOrInvalidFieldsKeepCoresDefaultsAndSaySo() {
    RetrySection read = read("attempts: 0\nbackoff_base_ms: 50\nbackoff_cap_ms: 10\n");
    RetryPolicy d = RetryPolicy.DEFAULT;
    assertThat(read.policy().attempts()).isEqualTo(d.attempts());
    assertThat(read.policy().capNanos()).isEqualTo(50_000_000L);
    assertThat(read.onTimeout()).isFalse();
    assertThat(reader.problems())
        .containsExactly(
            "retry.backoff_cap_ms (line 1): must be at least backoff_base_ms",
            "retry.attempts (line 1): must be a whole number from 1 to 20, got '0'");
  }

  @Test
  void aSectionThatIsNotAMappingIsTheDefault() {
    assertThat(read("[1]\n")).isEqualTo(RetrySection.DEFAULT);
    assertThat(reader.problems()).containsExactly("retry (line 1): must be a mapping");
  }
}
