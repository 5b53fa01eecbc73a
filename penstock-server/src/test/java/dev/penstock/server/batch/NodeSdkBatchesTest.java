package dev.penstock.server.batch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.testing.GatewayFixture;
import java.io.File;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Assumptions;
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
  private static final Path NODE_SDK = Path.of("src/test/node-sdk");
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
    Optional<Path> node = onPath("node");
    boolean ready = node.isPresent() && Files.isDirectory(NODE_SDK.resolve("node_modules/openai"));
    if ("1".equals(System.getenv("PENSTOCK_SKIP_NODE_SDK"))) {
      Assumptions.assumeTrue(ready, "PENSTOCK_SKIP_NODE_SDK=1 and no node or no node_modules here");
    }
    assertThat(ready)
        .as(
            "the Node SDK test needs node on the PATH (%s) and the openai package in"
                + " penstock-server/src/test/node-sdk/node_modules (%s): run scripts/test-deps.sh"
                + " (bin/test does), or set PENSTOCK_SKIP_NODE_SDK=1 to skip this test",
            node.map(Path::toString).orElse("missing"),
            Files.isDirectory(NODE_SDK.resolve("node_modules/openai")) ? "present" : "missing")
        .isTrue();

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

      Path out = Files.createDirectories(Path.of("target/node-sdk-check"));
      Path stdout = out.resolve("batches-stdout.json");
      Path stderr = out.resolve("batches-stderr.log");
      ProcessBuilder builder =
          new ProcessBuilder(node.orElseThrow().toString(), "batches.mjs")
              .directory(NODE_SDK.toFile())
              .redirectOutput(stdout.toFile())
              .redirectError(stderr.toFile());
      Map<String, String> env = builder.environment();
      // The SDK reads OPENAI_* (a key, a base URL, extra headers, log level): none of ours.
      env.keySet().removeIf(name -> name.startsWith("OPENAI_"));
      env.put("PENSTOCK_BASE_URL", fixture.baseUrl());
      env.put("PENSTOCK_KEY", key.path("key").asText());
      env.put("BATCH_MODEL", "gpt-4o-mini");
      env.put("BATCH_LINES", Integer.toString(LINES));
      env.put("CANCEL_LINES", Integer.toString(CANCEL_LINES));
      Process script = builder.start();
      boolean finished = script.waitFor(SCRIPT_WAIT.toSeconds(), TimeUnit.SECONDS);
      if (!finished) {
        script.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      String printed = Files.readString(stdout, StandardCharsets.UTF_8);
      String errors = Files.readString(stderr, StandardCharsets.UTF_8);
      assertThat(finished)
          .as(
              "node batches.mjs finished within %s; stdout:%n%s%nstderr:%n%s",
              SCRIPT_WAIT, printed, errors)
          .isTrue();

      JsonNode result;
      try {
        result = RequestReader.JSON.readTree(printed);
      } catch (Exception e) {
        throw new AssertionError(
            "node batches.mjs printed no JSON (exit "
                + script.exitValue()
                + "); stdout:\n"
                + printed
                + "\nstderr:\n"
                + errors,
            e);
      }
      List<String> failed = new ArrayList<>();
      result
          .path("checks")
          .forEach(
              c -> {
                if (!c.path("ok").asBoolean()) {
                  failed.add(c.path("name").asText() + ": " + c.path("detail").asText());
                }
              });
      assertThat(failed)
          .as(
              "failed checks (node %s, openai %s); stderr:%n%s",
              result.path("node").asText(), result.path("sdk").asText(), errors)
          .isEmpty();
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
      assertThat(script.exitValue()).as("exit of node batches.mjs; stderr:%n%s", errors).isZero();

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

  private static Optional<Path> onPath(String program) {
    String path = Optional.ofNullable(System.getenv("PATH")).orElse("");
    return Stream.of(path.split(File.pathSeparator, -1))
        .filter(dir -> !dir.isEmpty())
        .map(dir -> Path.of(dir, program))
        .filter(Files::isExecutable)
        .findFirst();
  }
}
