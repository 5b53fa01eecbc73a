package dev.penstock.mock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.Test;

class MockConfigLoaderTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private static MockConfig parse(String yaml) throws Exception {
    JsonNode root = YAML.readTree(yaml);
    return MockConfigLoader.parse(root);
  }

  @Test
  void readsPerKeySettingsWithDefaultsAndOverrides() throws Exception {
    MockConfig config =
        parse(
            """
            port: 9100
            latency: {ttft_ms: 5, ms_per_token: 0.5, jitter: 0}
            faults: {"500": 0.01}
            defaults: {rpm: 60, tpm: 6000}
            keys:
              - {name: a, key: sk-a-123456789}
              - name: b
                key: sk-b-123456789
                rpm: 10
                faults: {reset: 0.5}
                port: 9101
                dead: true
            """);
    assertThat(config.port()).isEqualTo(9100);
    assertThat(config.latency()).isEqualTo(new LatencyModel(5, 0.5, 0));
    assertThat(config.faults().rates()).containsEntry(FaultKind.ERROR_500, 0.01);
    KeySpec a = config.keys().get(0);
    assertThat(a.rpm()).isEqualTo(60);
    assertThat(a.tpm()).isEqualTo(6000);
    KeySpec b = config.keys().get(1);
    assertThat(b.rpm()).isEqualTo(10);
    assertThat(b.port()).isEqualTo(9101);
    assertThat(b.dead()).isTrue();
    assertThat(b.faults().rates()).containsEntry(FaultKind.RESET, 0.5);
  }

  @Test
  void errorsNameTheFieldPath() {
    assertThatThrownBy(() -> parse("keys:\n  - {name: a, key: sk-a, rmp: 5}\n"))
        .hasMessageStartingWith("keys[0].rmp: unknown field");
    assertThatThrownBy(() -> parse("keys:\n  - {name: a, key: sk-a, rpm: lots}\n"))
        .hasMessageStartingWith("keys[0].rpm: an integer is required");
    assertThatThrownBy(() -> parse("keys:\n  - {name: a, key: sk-a, faults: {boom: 1}}\n"))
        .hasMessageStartingWith("keys[0].faults.boom: unknown fault");
    assertThatThrownBy(() -> parse("port: 1\n")).hasMessageStartingWith("keys:");
    assertThatThrownBy(() -> parse("keys:\n  - {name: a, key: x}\n  - {name: a, key: y}\n"))
        .hasMessageContaining("unique");
  }

  @Test
  void readsTheStreamJsonStyle() throws Exception {
    String keys = "keys:\n  - {name: a, key: sk-a-123456789}\n";
    assertThat(parse(keys).streamJsonStyle()).isEqualTo(StreamJsonStyle.COMPACT);
    assertThat(parse("stream_json_style: spaced\n" + keys).streamJsonStyle())
        .isEqualTo(StreamJsonStyle.SPACED);
    assertThatThrownBy(() -> parse("stream_json_style: pretty\n" + keys))
        .hasMessageStartingWith("stream_json_style: unknown style 'pretty'");
  }

  @Test
  void keySpecsNeverPrintTheirSecret() {
    assertThat(KeySpec.of("a", "sk-very-secret", 1, 1).toString()).doesNotContain("secret");
  }
}
