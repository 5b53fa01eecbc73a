package dev.penstock.server.tenant;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.testing.GatewayFixture;
import dev.penstock.server.testing.NodeSdkScript;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The tenants feature end to end with the official OpenAI <em>Node</em> SDK, as {@link
 * TenantsEndToEndTest} does with the Java one: this test starts the simulator and a gateway, makes
 * the keys through the admin API, and runs {@code src/test/node-sdk/tenants.mjs}, which checks what
 * a service sees (a live key served, streamed or not; no, unknown and revoked keys an {@code
 * AuthenticationError}; a forbidden model a {@code PermissionDeniedError}; over budget a {@code
 * RateLimitError} the SDK does not retry; over RPM a {@code RateLimitError} after which the SDK's
 * own retry succeeds) and prints one JSON verdict that this test judges.
 *
 * <p>Needs node and {@code npm ci} in {@code src/test/node-sdk} ({@code scripts/test-deps.sh}, run
 * by {@code bin/test}, provides both). Without them the test fails saying so, unless {@code
 * PENSTOCK_SKIP_NODE_SDK=1} says to skip it.
 */
@Tag("e2e")
class NodeSdkTenantsTest {
  private static final String ADMIN = "adm-node-sdk-0123456789";
  private static final String MINI_KEY = "sk-up-mini-node";
  private static final String BIG_KEY = "sk-up-big-node";
  private static final Duration SCRIPT_WAIT = Duration.ofSeconds(90);

  @Test
  void theNodeSdkSeesKeysLimitsAndBudgetsAsItWouldSeeOpenAi() throws Exception {
    Path node = NodeSdkScript.node();

    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(2, 0, 0))
            .outputTokens(10)
            .seed(7)
            .addKey(KeySpec.of("mini", MINI_KEY, 100_000, 100_000_000))
            .addKey(KeySpec.of("big", BIG_KEY, 100_000, 100_000_000))
            .build();
    // $1000 per 1M input tokens: one request costs a few cents, far over a budget of $0.001.
    String yaml =
        """
        listen: 127.0.0.1:0
        admin_key: %4$s
        models:
          gpt-4o-mini:
            deployments:
              - {name: mini, base_url: "%1$s", api_key: "%2$s", rpm: 100000, tpm: 100000000}
          gpt-4o:
            deployments:
              - {name: big, base_url: "%1$s", api_key: "%3$s", rpm: 100000, tpm: 100000000}
        pricing:
          gpt-4o-mini: {input_per_1m: 1000, output_per_1m: 2000}
          gpt-4o: {input_per_1m: 1000, output_per_1m: 2000}
        """
            .formatted("${MOCK}", MINI_KEY, BIG_KEY, ADMIN);
    // A key's window is two seconds here, so that the SDK's retry after a 429 comes within the
    // test.
    try (GatewayFixture fixture =
        GatewayFixture.start(simulator, yaml, b -> b.keyWindow(Duration.ofSeconds(2)))) {
      String ok = createKey(fixture, "{\"name\": \"ok\"}").path("key").asText();
      String slow = createKey(fixture, "{\"name\": \"slow\", \"rpm\": 1}").path("key").asText();
      String miniOnly =
          createKey(fixture, "{\"name\": \"mini-only\", \"models\": [\"gpt-4o-mini\"]}")
              .path("key")
              .asText();

      JsonNode revoked = createKey(fixture, "{\"name\": \"revoked\"}");
      JsonNode gone = admin(fixture, "DELETE", "/admin/keys/" + revoked.path("id").asText(), null);
      assertThat(gone.path("state").asText()).isEqualTo("revoked");

      String broke =
          createKey(fixture, "{\"name\": \"broke\", \"budget_usd_daily\": 0.001}")
              .path("key")
              .asText();
      HttpResponse<String> spending =
          fixture.post(
              "/v1/chat/completions",
              "{\"model\": \"gpt-4o-mini\", \"messages\": [{\"role\": \"user\", \"content\":"
                  + " \"Hi\"}]}",
              Map.of("Authorization", "Bearer " + broke, "Content-Type", "application/json"));
      assertThat(spending.statusCode()).as(spending.body()).isEqualTo(200);
      fixture.awaitIdle(); // its cost is settled before the script asks again

      Map<String, String> env = new java.util.HashMap<>();
      env.put("PENSTOCK_BASE_URL", fixture.baseUrl());
      env.put("KEY_OK", ok);
      env.put("KEY_REVOKED", revoked.path("key").asText());
      env.put("KEY_SLOW", slow);
      env.put("KEY_BROKE", broke);
      env.put("KEY_MINI_ONLY", miniOnly);
      NodeSdkScript.Verdict verdict =
          NodeSdkScript.run(node, "tenants.mjs", "tenants", env, SCRIPT_WAIT);
      JsonNode result = verdict.result();
      String printed = verdict.printed();
      String errors = verdict.errors();
      assertThat(result.path("checks").size()).as(printed).isGreaterThanOrEqualTo(11);
      assertThat(result.path("ok").asBoolean()).as(printed).isTrue();
      assertThat(verdict.exit()).as("exit of node tenants.mjs; stderr:%n%s", errors).isZero();
    }
  }

  private static JsonNode createKey(GatewayFixture fixture, String body) throws Exception {
    JsonNode created = admin(fixture, "POST", "/admin/keys", body);
    assertThat(created.path("key").asText()).startsWith("pk-");
    return created;
  }

  private static JsonNode admin(GatewayFixture fixture, String method, String path, String body)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(fixture.root() + path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + ADMIN)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    HttpResponse<String> r =
        fixture.http().send(request.build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isBetween(200, 201);
    return RequestReader.JSON.readTree(r.body());
  }
}
