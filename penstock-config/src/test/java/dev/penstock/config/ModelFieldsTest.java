package dev.penstock.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.nodes.Node;

class ModelFieldsTest {
  private final YamlReader reader = new YamlReader(Map.<String, String>of()::get);

  private Map<String, Node> fields(String yaml) {
    Node node =
        YamlReader.compose(
            yaml, problems -> new IllegalStateException(String.join("; ", problems)));
    Map<String, Node> f =
        reader.fields(node, "d.", Set.of("provider", "tpm_charge", "deployments"));
    assertThat(f).isNotNull();
    return f;
  }

  @Test
  void providerAndChargeHaveTheirDefaultsWhenAbsent() {
    Map<String, Node> f = fields("{}");
    assertThat(ModelFields.azure(reader, f, "d.")).isFalse();
    assertThat(ModelFields.chargesUsage(reader, f, "d.")).isFalse();
    assertThat(reader.problems()).isEmpty();
  }

  @Test
  void providerAndChargeAreRead() {
    assertThat(ModelFields.azure(reader, fields("provider: azure"), "d.")).isTrue();
    assertThat(ModelFields.azure(reader, fields("provider: openai"), "d.")).isFalse();
    assertThat(ModelFields.chargesUsage(reader, fields("tpm_charge: usage"), "d.")).isTrue();
    assertThat(ModelFields.chargesUsage(reader, fields("tpm_charge: estimate"), "d.")).isFalse();
    assertThat(reader.problems()).isEmpty();
  }

  @Test
  void otherValuesAreProblems() {
    assertThat(ModelFields.azure(reader, fields("provider: bedrock"), "d.")).isFalse();
    assertThat(ModelFields.chargesUsage(reader, fields("\ntpm_charge: [usage]"), "d.")).isFalse();
    assertThat(reader.problems())
        .containsExactly(
            "d.provider (line 1): must be openai or azure",
            "d.tpm_charge (line 2): must be a single value",
            "d.tpm_charge (line 2): must be estimate or usage");
  }

  @Test
  void deploymentsMustBeANonEmptyList() {
    Node key = YamlReader.compose("gpt-5", p -> new IllegalStateException());
    assertThat(ModelFields.deployments(reader, fields("deployments: [{}]"), key, "models.m"))
        .hasSize(1);
    assertThat(ModelFields.deployments(reader, fields("\ndeployments: []"), key, "models.m"))
        .isNull();
    assertThat(ModelFields.deployments(reader, fields("{}"), key, "models.m")).isNull();
    assertThat(reader.problems())
        .containsExactly(
            "models.m.deployments (line 2): a list of at least one deployment is required",
            "models.m.deployments (line 1): a list of at least one deployment is required");
  }
}
