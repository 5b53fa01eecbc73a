package dev.penstock.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.core.limit.TpmCharge;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.MockServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Penstock#fromYaml}: the gateway's file, read for what a library uses. */
class YamlConfigTest {
  private static final String GATEWAY_FILE =
      """
      listen: 127.0.0.1:8080
      admin_key: ${ADMIN_KEY:-}
      defaults:
        timeout_ms: 5000
        pacing_guard_ms: 100
        max_body_bytes: 1000000
      retry:
        attempts: 2
        backoff_base_ms: 10
        backoff_cap_ms: 50
      circuit_breaker:
        consecutive_failures: 3
      models:
        gpt-4o-mini:
          fallbacks: [gpt-5-mini]
          deployments:
            - name: a
              base_url: ${MOCK_URL}
              api_key: ${KEY_A}
              upstream_model: gpt-4o
              rpm: 600
              tpm: 100_000
              tpm_charge: usage
              read_timeout_ms: 1000
        gpt-5-mini:
          deployments:
            - name: b
              base_url: http://127.0.0.1:9/v1
              api_key: ${KEY_B:-sk-b-default}
              rpm: 10
              tpm: 10000
              priority: 1
      cache:
        ttl: 1h
      """;

  private static YamlConfig parse(String yaml, Map<String, String> env) {
    return YamlConfig.parse(yaml, "penstock.yaml", env::get);
  }

  @Test
  void readsModelsAndSettingsWithTheGatewaysNamesVariablesAndDefaults() {
    YamlConfig config =
        parse(GATEWAY_FILE, Map.of("MOCK_URL", "http://127.0.0.1:1234/v1", "KEY_A", "sk-a"));
    assertThat(config.models())
        .extracting(Model::name)
        .containsExactly("gpt-4o-mini", "gpt-5-mini");
    Deployment a = config.models().getFirst().deployments().getFirst();
    assertThat(a.baseUrl()).hasToString("http://127.0.0.1:1234/v1");
    assertThat(a.apiKey()).isEqualTo("sk-a");
    assertThat(a.upstreamModel()).isEqualTo("gpt-4o");
    assertThat(a.tpm()).isEqualTo(100_000);
    assertThat(a.tpmCharge()).isEqualTo(TpmCharge.USAGE);
    assertThat(a.toString()).doesNotContain("sk-a");
    Deployment b = config.models().get(1).deployments().getFirst();
    assertThat(b.apiKey()).isEqualTo("sk-b-default");
    assertThat(b.priority()).isEqualTo(1);
    assertThat(config.models().getFirst().fallbacks()).containsExactly("gpt-5-mini");
    Settings s = config.settings();
    assertThat(s.timeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(s.pacingGuard()).isEqualTo(Duration.ofMillis(100));
    assertThat(s.maxOutputTokens()).isEqualTo(256); // the gateway's default
    assertThat(s.retry().attempts()).isEqualTo(2);
    assertThat(s.breaker().consecutiveFailures()).isEqualTo(3);
  }

  @Test
  void everyProblemIsNamedByItsFieldPathAndLineAndNoSecretIsEchoed() {
    String yaml =
        """
        models:
          gpt-4o-mini:
            deployments:
              - name: a
                base_url: not a url
                api_key: ${KEY_A}
                rpm: many
                tpm: 1000
                colour: blue
        """;
    assertThatThrownBy(() -> parse(yaml, Map.of()))
        .isInstanceOf(PenstockConfigException.class)
        .satisfies(
            e ->
                assertThat(((PenstockConfigException) e).problems())
                    .anySatisfy(
                        p ->
                            assertThat(p)
                                .startsWith("models.gpt-4o-mini.deployments[0].base_url (line 5)"))
                    .anySatisfy(
                        p ->
                            assertThat(p)
                                .startsWith("models.gpt-4o-mini.deployments[0].api_key (line 6)")
                                .contains("KEY_A is not set"))
                    .anySatisfy(
                        p ->
                            assertThat(p)
                                .startsWith("models.gpt-4o-mini.deployments[0].rpm (line 7)"))
                    .anySatisfy(
                        p ->
                            assertThat(p)
                                .startsWith("models.gpt-4o-mini.deployments[0].colour (line 9)")
                                .contains("unknown field")));
    assertThatThrownBy(
            () ->
                parse(
                    yaml.replace("rpm: many", "rpm: 5")
                        .replace("not a url", "http://x/v1")
                        .replace("    colour: blue\n", ""),
                    Map.of("KEY_A", "sk-secret\nline")))
        .isInstanceOf(PenstockConfigException.class)
        .hasMessageContaining("api_key (line 6): contains a control character")
        .hasMessageNotContaining("sk-secret");
    assertThatThrownBy(() -> parse("listen: 127.0.0.1:8080\n", Map.of()))
        .hasMessageContaining("models: required");
  }

  @Test
  void aPenstockFromTheGatewaysFileServesCallsWithItsUpstreamModel(@TempDir Path dir)
      throws Exception {
    try (MockServer mock = Mocks.start(KeySpec.of("a", "sk-emb-a-000001", 600, 100_000))) {
      Path file = dir.resolve("penstock.yaml");
      Files.writeString(file, GATEWAY_FILE, StandardCharsets.UTF_8);
      Map<String, String> env = Map.of("MOCK_URL", mock.baseUrl(), "KEY_A", "sk-emb-a-000001");
      try (Penstock penstock = Penstock.builder().environment(env::get).yaml(file).build();
          PenstockResponse answer =
              penstock.call(PenstockRequest.post("chat/completions", Mocks.chat(false)))) {
        assertThat(answer.status()).isEqualTo(200);
        assertThat(new String(answer.body().readAllBytes(), StandardCharsets.UTF_8))
            .contains("\"model\":\"gpt-4o\"");
        assertThat(penstock.settings().timeout()).isEqualTo(Duration.ofSeconds(5));
      }
    }
  }
}
