package dev.penstock.server.batch;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The Batch API end to end with the official OpenAI <em>Node</em> SDK: this test starts the
 * simulator and a gateway, makes a virtual key through the admin API, and runs {@code
 * src/test/node-sdk/batches.mjs}, which uploads a JSONL file of 50 chat lines, creates a batch,
 * polls it to {@code completed}, finds every {@code custom_id} exactly once in the output, lists
 * the batches one per page, and cancels a second, larger batch while it runs; it prints one JSON
 * verdict that this test judges. The admin API then shows the batch owned by the key.
 *
 * <p>Needs node and {@code npm ci} in {@code src/test/node-sdk} ({@code scripts/test-deps.sh}, run
 * by {@code bin/test}, provides both). Without them the test fails saying so, unless {@code
 * PENSTOCK_SKIP_NODE_SDK=1} says to skip it.
 */
@Tag("e2e")
class NodeSdkBatchesTest {
  private static final String ADMIN = "adm-node-sdk-batches-0123";
  private static final String UPSTREAM_KEY = "sk-up-batches-node";
  private static final int LINES = 50;

  /**
   * Lines of the batch that is cancelled: at 4 lines in flight and 20 ms a line, about ten seconds
   * of work, so that the cancel arrives while it runs.
   */
  private static final int CANCEL_LINES = 2_000;

  private static final Duration SCRIPT_WAIT = Duration.ofMinutes(5);

  @Test
  void theNodeSdkRunsListsAndCancelsBatchesAsItWouldAgainstOpenAi() throws Exception {
    Path node = NodeSdkScript.node();

    // Far more RPM than the batches need: the 50 lines finish in about a second.
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(20, 0, 0))
            .outputTokens(8)
            .seed(11)
            .addKey(KeySpec.of("up", UPSTREAM_KEY, 100_000, 100_000_000))
            .build();
    String yaml =
        """
        listen: 127.0.0.1:0
        admin_key: %3$s
        batches:
          concurrency: 4
          max_concurrency: 8
          line_timeout_ms: 10000
          claim_ms: 20000
        models:
          gpt-4o-mini:
            deployments:
              - {name: up, base_url: "%1$s", api_key: "%2$s", rpm: 100000, tpm: 100000000}
        pricing:
          gpt-4o-mini: {input_per_1m: 0.15, output_per_1m: 0.6}
        """
            .formatted("${MOCK}", UPSTREAM_KEY, ADMIN);
    try (GatewayFixture fixture = GatewayFixture.start(simulator, yaml)) {
      JsonNode key = admin(fixture, "POST", "/admin/keys", "{\"name\": \"batch-owner\"}");
      assertThat(key.path("key").asText()).startsWith("pk-");

      Map<String, String> env = new java.util.HashMap<>();
      env.put("PENSTOCK_BASE_URL", fixture.baseUrl());
      env.put("PENSTOCK_KEY", key.path("key").asText());
      env.put("BATCH_MODEL", "gpt-4o-mini");
      env.put("BATCH_LINES", Integer.toString(LINES));
      env.put("CANCEL_LINES", Integer.toString(CANCEL_LINES));
      NodeSdkScript.Verdict verdict =
          NodeSdkScript.run(node, "batches.mjs", "batches", env, SCRIPT_WAIT);
      JsonNode result = verdict.result();
      String printed = verdict.printed();
      String errors = verdict.errors();
      assertThat(result.path("checks").size()).as(printed).isGreaterThanOrEqualTo(7);
      assertThat(result.path("status").asText()).isEqualTo("completed");
      assertThat(result.path("counts").path("total").asInt()).isEqualTo(LINES);
      assertThat(result.path("counts").path("completed").asInt()).isEqualTo(LINES);
      assertThat(result.path("customIdsOk").asBoolean()).as(printed).isTrue();
      assertThat(result.path("cancelStatus").asText()).isIn("cancelling", "cancelled");
      assertThat(result.path("cancelFinalStatus").asText()).isEqualTo("cancelled");
      String batchId = result.path("batchId").asText();
      String cancelId = result.path("cancelBatchId").asText();
      List<String> listed = new ArrayList<>();
      result.path("listedIds").forEach(id -> listed.add(id.asText()));
      assertThat(listed).contains(batchId, cancelId).doesNotHaveDuplicates();
      assertThat(result.path("pages").asInt()).isGreaterThanOrEqualTo(2);
      assertThat(result.path("ok").asBoolean()).as(printed).isTrue();
      assertThat(verdict.exit()).as("exit of node batches.mjs; stderr:%n%s", errors).isZero();

      // The admin API sees the batch, owned by the key that made it.
      JsonNode seen = admin(fixture, "GET", "/admin/batches/" + batchId, null);
      assertThat(seen.path("status").asText()).isEqualTo("completed");
      assertThat(seen.path("owner").path("id").asText()).isEqualTo(key.path("id").asText());
      assertThat(seen.path("owner").path("name").asText()).isEqualTo("batch-owner");
      assertThat(seen.path("request_counts").path("completed").asInt()).isEqualTo(LINES);
    }
  }

  private static JsonNode admin(
      GatewayFixture fixture, String method, String path, @Nullable String body) throws Exception {
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
