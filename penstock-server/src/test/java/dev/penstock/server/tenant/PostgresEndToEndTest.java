package dev.penstock.server.tenant;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.batches.Batch;
import com.openai.models.batches.BatchCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.telemetry.PrometheusText;
import dev.penstock.server.testing.GatewayFixture;
import dev.penstock.server.testing.PostgresDatabase;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two gateways in one JVM on the same fresh PostgreSQL database, in front of one simulator (cluster
 * mode's shared storage, issue 16): a key created through A's admin API works on B; revoked on A, B
 * refuses it within a second; one batch created on A is executed by both and completes with each
 * line exactly once in its output, which B serves (the file's bytes are in PostgreSQL).
 */
class PostgresEndToEndTest {
  private static final String ADMIN = "adm-postgres-e2e-0123456789";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int LINES = 160;

  @TempDir Path dir;
  private PostgresDatabase database;
  private GatewayFixture a;
  private GatewayFixture b;
  private final List<OpenAIClient> clients = new ArrayList<>();

  @BeforeEach
  void start() {
    database = PostgresDatabase.create();
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(120, 0, 0))
            .addKey(KeySpec.of("mini", "sk-up", 100_000, 100_000_000))
            .build();
    a = GatewayFixture.start(simulator, yaml());
    b =
        GatewayFixture.gatewayOnly(
            yaml().replace("${MOCK}", a.mock().baseUrl()), builder -> builder);
  }

  @AfterEach
  void stop() {
    clients.forEach(OpenAIClient::close);
    try {
      if (b != null) {
        b.close();
      }
    } finally {
      try {
        if (a != null) {
          a.close();
        }
      } finally {
        database.close();
      }
    }
  }

  private String yaml() {
    return """
        listen: 127.0.0.1:0
        admin_key: %s
        storage: {path: %s, postgres_url: "%s"}
        batches: {concurrency: 4, line_timeout_ms: 20000, claim_ms: 60000}
        models:
          gpt-4o-mini:
            deployments:
              - {name: mini, base_url: "${MOCK}", api_key: "sk-up", rpm: 100000, tpm: 100000000}
        """
        .formatted(ADMIN, dir.resolve("unused/penstock.db"), database.url());
  }

  private static HttpResponse<String> call(
      GatewayFixture gateway, String method, String path, String body, String bearer)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(gateway.root() + path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + bearer)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    return gateway.http().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode admin(GatewayFixture gateway, String method, String path, String body)
      throws Exception {
    HttpResponse<String> r = call(gateway, method, path, body, ADMIN);
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isBetween(200, 201);
    return JSON.readTree(r.body());
  }

  /** The status of {@code GET /v1/models} with {@code key} on {@code gateway}. */
  private static int models(GatewayFixture gateway, String key) throws Exception {
    return call(gateway, "GET", "/v1/models", null, key).statusCode();
  }

  private OpenAIClient sdk(GatewayFixture gateway, String key) {
    OpenAIClient client =
        OpenAIOkHttpClient.builder()
            .baseUrl(gateway.baseUrl())
            .apiKey(key)
            .maxRetries(0)
            .timeout(Duration.ofSeconds(30))
            .build();
    clients.add(client);
    return client;
  }

  private static double linesDone(GatewayFixture gateway) throws Exception {
    return PrometheusText.parse(call(gateway, "GET", "/metrics", null, ADMIN).body())
        .sum("penstock_batch_lines_total", "outcome", "done");
  }

  @Test
  void keysAndABatchAreSharedByBothInstances() throws Exception {
    // A key made on A works on B (B hears of it, or reads it at the latest at its next resync).
    JsonNode created = admin(a, "POST", "/admin/keys", "{\"name\": \"shared\"}");
    String key = created.path("key").asText();
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (models(b, key) != 200 && System.nanoTime() < deadline) {
      LockSupport.parkNanos(20_000_000);
    }
    assertThat(models(b, key)).as("the key made on A, on B").isEqualTo(200);
    assertThat(
            admin(b, "GET", "/admin/keys/" + created.path("id").asText(), null)
                .path("name")
                .asText())
        .isEqualTo("shared");

    // One batch made on A: both instances run its lines; each line is in the output once.
    StringBuilder content = new StringBuilder();
    for (int i = 0; i < LINES; i++) {
      content
          .append("{\"custom_id\":\"line-")
          .append(i)
          .append("\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":")
          .append("{\"model\":\"gpt-4o-mini\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",")
          .append("\"content\":\"line ")
          .append(i)
          .append("\"}]}}\n");
    }
    Path input = dir.resolve("input.jsonl");
    Files.writeString(input, content.toString(), StandardCharsets.UTF_8);
    OpenAIClient onA = sdk(a, key);
    OpenAIClient onB = sdk(b, key);
    FileObject uploaded =
        onA.files()
            .create(FileCreateParams.builder().file(input).purpose(FilePurpose.BATCH).build());
    Batch batch =
        onA.batches()
            .create(
                BatchCreateParams.builder()
                    .inputFileId(uploaded.id())
                    .endpoint(BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS)
                    .completionWindow(BatchCreateParams.CompletionWindow._24H)
                    .build());
    deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    Batch seen = onB.batches().retrieve(batch.id());
    while (!seen.status().equals(Batch.Status.COMPLETED) && System.nanoTime() < deadline) {
      LockSupport.parkNanos(100_000_000);
      seen = onB.batches().retrieve(batch.id());
    }
    assertThat(seen.status())
        .as("the batch, seen from B: " + seen)
        .isEqualTo(Batch.Status.COMPLETED);
    assertThat(seen.requestCounts().orElseThrow().completed()).isEqualTo(LINES);
    Map<String, Integer> ids = new HashMap<>();
    try (com.openai.core.http.HttpResponse response =
            onB.files().content(seen.outputFileId().orElseThrow());
        InputStream body = response.body()) {
      for (String line : new String(body.readAllBytes(), StandardCharsets.UTF_8).split("\n", -1)) {
        if (!line.isEmpty()) {
          ids.merge(JSON.readTree(line).path("custom_id").asText(), 1, Integer::sum);
        }
      }
    }
    assertThat(ids).hasSize(LINES);
    assertThat(ids.values()).allMatch(n -> n == 1);
    double doneOnA = linesDone(a);
    double doneOnB = linesDone(b);
    assertThat(doneOnA).as("lines A ran").isPositive();
    assertThat(doneOnB).as("lines B ran").isPositive();
    assertThat(doneOnA + doneOnB).isEqualTo(LINES);

    // Revoked on A: B refuses the key within a second.
    admin(a, "DELETE", "/admin/keys/" + created.path("id").asText(), null);
    long revoked = System.nanoTime();
    deadline = revoked + Duration.ofSeconds(1).toNanos();
    while (models(b, key) != 401 && System.nanoTime() < deadline) {
      LockSupport.parkNanos(10_000_000);
    }
    assertThat(models(b, key)).as("the key revoked on A, on B within 1 s").isEqualTo(401);
  }
}
