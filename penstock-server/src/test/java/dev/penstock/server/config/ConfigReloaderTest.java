package dev.penstock.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigReloaderTest {
  @TempDir Path dir;

  private final ConfigLoader loader = new ConfigLoader(Map.of("KEY", "sk-secret-value")::get);
  private final List<GatewayConfig> applied = new ArrayList<>();

  private static String config(String listen, String deployments) {
    return """
        listen: %s
        models:
          m:
            deployments:
        %s"""
        .formatted(listen, deployments.indent(6));
  }

  private static String deployment(String name, int rpm) {
    return "- {name: %s, base_url: http://127.0.0.1:9/v1, api_key: \"${KEY}\", rpm: %d, tpm: 100000}"
        .formatted(name, rpm);
  }

  private ConfigReloader reloader(Path file) throws Exception {
    return new ConfigReloader(file, loader, loader.load(file), applied::add);
  }

  @Test
  void aValidFileIsAppliedAndItsChangesNamed() throws Exception {
    Path file = dir.resolve("penstock.yaml");
    Files.writeString(
        file, config("127.0.0.1:8080", deployment("a", 100) + "\n" + deployment("b", 100)));
    ConfigReloader reloader = reloader(file);
    Files.writeString(
        file, config("127.0.0.1:8080", deployment("a", 50) + "\n" + deployment("c", 100)));

    ConfigReloader.Outcome outcome = reloader.reload("test");

    assertThat(outcome)
        .isEqualTo(
            new ConfigReloader.Outcome.Applied(
                List.of(
                    "deployments added: c", "deployments removed: b", "deployments changed: a")));
    assertThat(applied).hasSize(1);
    assertThat(reloader.current().models().get("m").deployments().getFirst().rpm()).isEqualTo(50);
    assertThat(outcome.toString()).doesNotContain("sk-secret-value");
  }

  @Test
  void anInvalidFileIsRefusedAndTheRunningConfigurationKept() throws Exception {
    Path file = dir.resolve("penstock.yaml");
    Files.writeString(file, config("127.0.0.1:8080", deployment("a", 100)));
    ConfigReloader reloader = reloader(file);
    GatewayConfig before = reloader.current();
    Files.writeString(file, config("127.0.0.1:8080", deployment("a", -1)));

    ConfigReloader.Outcome outcome = reloader.reload("test");

    assertThat(outcome).isInstanceOf(ConfigReloader.Outcome.Refused.class);
    assertThat(((ConfigReloader.Outcome.Refused) outcome).problems())
        .singleElement()
        .asString()
        .startsWith("models.m.deployments[0].rpm (line 5): must be a whole number");
    assertThat(applied).isEmpty();
    assertThat(reloader.current()).isSameAs(before);

    Files.delete(file);
    assertThat(reloader.reload("test")).isInstanceOf(ConfigReloader.Outcome.Refused.class);
    assertThat(reloader.current()).isSameAs(before);
  }

  @Test
  void aNewListenAddressIsReportedAndTheRestApplied() throws Exception {
    Path file = dir.resolve("penstock.yaml");
    Files.writeString(file, config("127.0.0.1:8080", deployment("a", 100)));
    ConfigReloader reloader = reloader(file);
    Files.writeString(file, config("127.0.0.1:9090", deployment("a", 70)));

    assertThat(reloader.reload("test")).isInstanceOf(ConfigReloader.Outcome.Applied.class);
    assertThat(applied.getFirst().models().get("m").deployments().getFirst().rpm()).isEqualTo(70);
  }

  @Test
  void anUnchangedFileAppliesNothingNew() throws Exception {
    Path file = dir.resolve("penstock.yaml");
    Files.writeString(file, config("127.0.0.1:8080", deployment("a", 100)));
    ConfigReloader reloader = reloader(file);
    assertThat(reloader.reload("test")).isEqualTo(new ConfigReloader.Outcome.Applied(List.of()));
  }

  /**
   * {@code admin_key: ${PENSTOCK_ADMIN_KEY:-}} with the variable unset means no key: a reload that
   * loses it opens the admin API to loopback callers, and says so (it once said only "gateway
   * settings changed").
   */
  @Test
  void aReloadThatLosesTheAdminKeySaysSo() throws Exception {
    Path file = dir.resolve("penstock.yaml");
    Files.writeString(
        file, "admin_key: s3cret-admin\n" + config("127.0.0.1:8080", deployment("a", 100)));
    ConfigReloader reloader = reloader(file);
    Files.writeString(
        file, "admin_key: ${NO_SUCH_VAR:-}\n" + config("127.0.0.1:8080", deployment("a", 100)));

    ConfigReloader.Outcome outcome = reloader.reload("test");

    assertThat(outcome)
        .isEqualTo(
            new ConfigReloader.Outcome.Applied(
                List.of(
                    "admin_key removed: the admin API is open to loopback callers without a key")));
    assertThat(outcome.toString()).doesNotContain("s3cret-admin");
  }
}
