package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.telemetry.BuildInfo;
import dev.penstock.server.testing.GatewayFixture;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code /health/live} and {@code /health/ready} (SPEC 12): the status a probe reads, and the
 * version of the build that answers, which an operator checks after an upgrade.
 */
class HealthEndpointTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private GatewayFixture fixture;

  @AfterEach
  void stop() {
    if (fixture != null) {
      fixture.close();
    }
  }

  @Test
  void bothProbesSayUpAndNameTheVersionOfTheBuild() throws Exception {
    fixture =
        GatewayFixture.start(
            MockConfig.builder()
                .port(0)
                .latency(LatencyModel.ZERO)
                .addKey(KeySpec.of("a", "sk-up-health-0001", 1_000, 1_000_000))
                .build(),
            """
            listen: 127.0.0.1:0
            models:
              gpt-4o-mini:
                deployments:
                  - {name: a, base_url: "${MOCK}", api_key: sk-up-health-0001, rpm: 1000, tpm: 1000000}
            """);

    for (String probe : new String[] {"/health/live", "/health/ready"}) {
      HttpResponse<String> answer = fixture.get(probe, Map.of());
      assertThat(answer.statusCode()).as(probe).isEqualTo(200);
      JsonNode body = JSON.readTree(answer.body());
      assertThat(body.path("status").asText()).as(probe).isEqualTo("UP");
      assertThat(body.path("version").asText())
          .as(probe)
          .isEqualTo(BuildInfo.current().version())
          .isNotEqualTo(BuildInfo.UNKNOWN);
    }
  }
}
