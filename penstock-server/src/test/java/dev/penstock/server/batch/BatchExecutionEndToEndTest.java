package dev.penstock.server.batch;

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
import dev.penstock.server.testing.GatewayFixture;
import java.io.InputStream;
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
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batches executed end to end with the official Java SDK: a virtual key's batch runs through the
 * pool to {@code completed}, its output and error files hold every line once, its usage reaches the
 * ledger under the key; a cancelled batch ends {@code cancelled} with its unrun lines in the error
 * file as {@code batch_cancelled}; a gateway stopped mid-batch resumes it at the next start; and
 * nothing is left held.
 */
class BatchExecutionEndToEndTest {
  private static final String ADMIN = "adm-batch-exec-0123456789";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private final List<GatewayFixture> fixtures = new ArrayList<>();
  private final List<OpenAIClient> clients = new ArrayList<>();

  @AfterEach
  void stop() {
    clients.forEach(OpenAIClient::close);
    fixtures.forEach(GatewayFixture::close);
  }

  private GatewayFixture start(int latencyMillis, int concurrency) {
    return start(latencyMillis, concurrency, 100_000);
  }

  /** A gateway whose one deployment is paced at {@code rpm}. */
  private GatewayFixture start(int latencyMillis, int concurrency, int rpm) {
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(latencyMillis, 0, 0))
            .addKey(KeySpec.of("mini", "sk-up", 100_000, 100_000_000))
            .build();
    GatewayFixture fixture =
        GatewayFixture.start(
            simulator, yaml(concurrency, rpm), b -> b.keyWindow(Duration.ofSeconds(5)));
    fixtures.add(fixture);
    return fixture;
  }

  private String yaml(int concurrency, int rpm) {
    return """
        listen: 127.0.0.1:0
        admin_key: %s
        storage: {path: %s}
        batches: {concurrency: %d, line_timeout_ms: 20000, claim_ms: 60000}
        models:
          gpt-4o-mini:
            deployments:
              - {name: mini, base_url: "${MOCK}", api_key: "sk-up", rpm: %d, tpm: 100000000}
        """
        .formatted(ADMIN, dir.resolve("data/penstock.db"), concurrency, rpm);
  }

  private OpenAIClient sdk(GatewayFixture fixture, String key) {
    OpenAIClient client =
        OpenAIOkHttpClient.builder()
            .baseUrl(fixture.baseUrl())
            .apiKey(key)
            .maxRetries(0)
            .timeout(Duration.ofSeconds(30))
            .build();
    clients.add(client);
    return client;
  }

  private static JsonNode admin(GatewayFixture fixture, String method, String path, String body)
      throws Exception {
    Map<String, String> headers = Map.of("Authorization", "Bearer " + ADMIN);
    HttpResponse<String> response =
        "POST".equals(method)
            ? fixture.post(path, body, Map.of("Authorization", "Bearer " + ADMIN))
            : fixture.get(path, headers);
    assertThat(response.statusCode()).as(method + " " + path).isBetween(200, 201);
    return JSON.readTree(response.body());
  }

  private Path input(String name, int lines, Map<Integer, String> bodies) throws Exception {
    StringBuilder content = new StringBuilder();
    for (int i = 0; i < lines; i++) {
      String body =
          bodies.getOrDefault(
              i,
              "{\"model\":\"gpt-4o-mini\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\","
                  + "\"content\":\"line "
                  + i
                  + "\"}]}");
      content
          .append("{\"custom_id\":\"line-")
          .append(i)
          .append("\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":")
          .append(body)
          .append("}\n");
    }
    Path file = dir.resolve(name);
    Files.writeString(file, content.toString(), StandardCharsets.UTF_8);
    return file;
  }

  private static Batch create(OpenAIClient sdk, Path file) {
    FileObject uploaded =
        sdk.files()
            .create(FileCreateParams.builder().file(file).purpose(FilePurpose.BATCH).build());
    return sdk.batches()
        .create(
            BatchCreateParams.builder()
                .inputFileId(uploaded.id())
                .endpoint(BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS)
                .completionWindow(BatchCreateParams.CompletionWindow._24H)
                .build());
  }

  /** Polls the batch (bounded) until {@code done} holds; fails with its last state otherwise. */
  private static Batch await(OpenAIClient sdk, String id, Predicate<Batch> done, String what) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    Batch b = sdk.batches().retrieve(id);
    while (!done.test(b) && System.nanoTime() < deadline) {
      LockSupport.parkNanos(50_000_000);
      b = sdk.batches().retrieve(id);
    }
    assertThat(done.test(b)).as(what + "; last seen: " + b).isTrue();
    return b;
  }

  private static long completed(Batch b) {
    return b.requestCounts().map(c -> c.completed()).orElse(0L);
  }

  /** The lines of a file the batch wrote, parsed. */
  private static List<JsonNode> lines(OpenAIClient sdk, String fileId) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    try (com.openai.core.http.HttpResponse response = sdk.files().content(fileId);
        InputStream body = response.body()) {
      for (String line : new String(body.readAllBytes(), StandardCharsets.UTF_8).split("\n", -1)) {
        if (!line.isEmpty()) {
          out.add(JSON.readTree(line));
        }
      }
    }
    return out;
  }

  /** How often each custom_id appears over the batch's output and error files. */
  private static Map<String, Integer> customIds(OpenAIClient sdk, Batch b) throws Exception {
    Map<String, Integer> seen = new HashMap<>();
    for (String file : List.of(b.outputFileId().orElse(""), b.errorFileId().orElse(""))) {
      if (!file.isEmpty()) {
        lines(sdk, file).forEach(l -> seen.merge(l.path("custom_id").asText(), 1, Integer::sum));
      }
    }
    return seen;
  }

  private static void assertEachOnce(Map<String, Integer> seen, int lines) {
    assertThat(seen).hasSize(lines);
    assertThat(seen.values()).allMatch(n -> n == 1);
    for (int i = 0; i < lines; i++) {
      assertThat(seen).containsKey("line-" + i);
    }
  }

  @Test
  void aKeysBatchRunsToCompletedWithEachLineOnceAndItsUsageInTheLedger() throws Exception {
    GatewayFixture fixture = start(1, 8);
    JsonNode key = admin(fixture, "POST", "/admin/keys", "{\"name\": \"nightly\"}");
    OpenAIClient sdk = sdk(fixture, key.path("key").asText());
    // Line 7 is refused by the gateway itself (400): it goes to the error file with its answer.
    Path file =
        input(
            "work.jsonl",
            120,
            Map.of(
                7,
                "{\"model\":\"gpt-4o-mini\",\"max_tokens\":-5,\"messages\":[{\"role\":\"user\","
                    + "\"content\":\"bad\"}]}"));

    Batch created = create(sdk, file);
    Batch done =
        await(
            sdk,
            created.id(),
            b -> b.status().equals(Batch.Status.COMPLETED),
            "the batch completes");
    done.validate();
    assertThat(done.requestCounts().orElseThrow().total()).isEqualTo(120);
    assertThat(done.requestCounts().orElseThrow().completed()).isEqualTo(119);
    assertThat(done.requestCounts().orElseThrow().failed()).isEqualTo(1);
    assertThat(done.finalizingAt()).isPresent();
    assertThat(done.completedAt()).isPresent();
    assertThat(done.usage().orElseThrow().inputTokens()).isPositive();
    assertThat(done.usage().orElseThrow().outputTokens()).isPositive();

    List<JsonNode> output = lines(sdk, done.outputFileId().orElseThrow());
    assertThat(output).hasSize(119);
    JsonNode first = output.getFirst();
    assertThat(first.path("id").asText()).startsWith("batch_req_");
    assertThat(first.path("custom_id").asText()).isEqualTo("line-0");
    assertThat(first.path("response").path("status_code").asInt()).isEqualTo(200);
    assertThat(first.path("response").path("request_id").asText()).startsWith("req_");
    assertThat(first.path("response").path("body").path("choices").isArray()).isTrue();
    assertThat(first.path("error").isNull()).isTrue();

    List<JsonNode> errors = lines(sdk, done.errorFileId().orElseThrow());
    assertThat(errors).hasSize(1);
    assertThat(errors.getFirst().path("custom_id").asText()).isEqualTo("line-7");
    assertThat(errors.getFirst().path("response").path("status_code").asInt()).isEqualTo(400);
    assertEachOnce(customIds(sdk, done), 120);

    // The output file is the key's own, as OpenAI's are.
    FileObject out = sdk.files().retrieve(done.outputFileId().orElseThrow());
    assertThat(out.purpose()).isEqualTo(FileObject.Purpose.BATCH_OUTPUT);

    // The executor's counters.
    String metrics = fixture.get("/metrics", Map.of()).body();
    assertThat(metrics)
        .contains("penstock_batch_lines_total{outcome=\"done\"} 119.0")
        .contains("penstock_batch_lines_total{outcome=\"failed\"} 1.0")
        .contains("penstock_batches{status=\"in_progress\"} 0.0");

    // Every line that reached the upstream is in the ledger under the key.
    fixture.awaitIdle();
    fixture.gateway().tenants().writer().flush(Duration.ofSeconds(10));
    JsonNode usage = admin(fixture, "GET", "/admin/usage?group_by=key", null).path("data");
    assertThat(usage).hasSize(1);
    assertThat(usage.get(0).path("name").asText()).isEqualTo("nightly");
    assertThat(usage.get(0).path("requests").asLong()).isGreaterThanOrEqualTo(119);
    assertThat(fixture.mock().stats().getFirst().succeeded()).isEqualTo(119);
  }

  @Test
  void aCancelledBatchFinishesItsLinesInFlightAndDeadLettersTheRest() throws Exception {
    GatewayFixture fixture = start(40, 2);
    OpenAIClient sdk = sdk(fixture, "sk-open");
    Batch created = create(sdk, input("big.jsonl", 400, Map.of()));
    await(sdk, created.id(), b -> completed(b) >= 10, "some lines are done");

    Batch cancelling = sdk.batches().cancel(created.id());
    assertThat(cancelling.status()).isIn(Batch.Status.CANCELLING, Batch.Status.CANCELLED);
    Batch cancelled =
        await(
            sdk,
            created.id(),
            b -> b.status().equals(Batch.Status.CANCELLED),
            "the batch ends cancelled");
    assertThat(cancelled.cancelledAt()).isPresent();
    long done = completed(cancelled);
    assertThat(done).isBetween(10L, 399L);
    assertThat(cancelled.requestCounts().orElseThrow().failed()).isEqualTo(400 - done);

    List<JsonNode> errors = lines(sdk, cancelled.errorFileId().orElseThrow());
    assertThat(errors).hasSize((int) (400 - done));
    assertThat(errors)
        .allMatch(e -> e.path("error").path("code").asText().equals("batch_cancelled"));
    assertEachOnce(customIds(sdk, cancelled), 400);
    // The lines in flight at the cancel finished; none was sent after.
    assertThat(fixture.mock().stats().getFirst().requests()).isEqualTo(done);
    fixture.awaitIdle();
  }

  @Test
  void aGatewayStoppedMidBatchResumesItAtTheNextStart() throws Exception {
    // Paced at 600 RPM the 300 lines take 30 s, so the stop after about 20 lands mid-batch
    // however slow the machine (at full speed they once all finished before the stop).
    GatewayFixture first = start(20, 4, 600);
    OpenAIClient sdk = sdk(first, "sk-open");
    Batch created = create(sdk, input("resume.jsonl", 300, Map.of()));
    await(sdk, created.id(), b -> completed(b) >= 20, "some lines are done");
    long sentBefore = first.mock().stats().getFirst().requests();
    // Stopped as SIGTERM stops it, with lines in flight and queued; the stop releases them all.
    first.stopGateway();
    long sentByFirst = first.mock().stats().getFirst().requests();
    assertThat(sentByFirst).as("stopped mid-batch").isBetween(sentBefore, 299L);

    GatewayFixture second = start(1, 4);
    OpenAIClient again = sdk(second, "sk-open");
    Batch done =
        await(
            again,
            created.id(),
            b -> b.status().equals(Batch.Status.COMPLETED),
            "the batch completes after the restart");
    assertThat(done.requestCounts().orElseThrow().completed()).isEqualTo(300);
    assertEachOnce(customIds(again, done), 300);
    // Lines in flight at the stop may run again: at most the batch's concurrency.
    long resent = sentByFirst + second.mock().stats().getFirst().requests() - 300;
    assertThat(resent).isBetween(0L, 4L);
    second.awaitIdle();
  }
}
