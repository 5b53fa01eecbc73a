package dev.penstock.server.batch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import dev.penstock.server.testing.GatewayProcess;
import java.net.URI;
import java.net.http.HttpClient;
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
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batch durability under {@code kill -9} (SPEC 7, docs/batches.md "Durability"): a batch of {@value
 * #DEFAULT_LINES} chat lines runs through a gateway in a JVM of its own ({@link GatewayProcess}),
 * which is killed with {@code SIGKILL} a few times while lines are in flight and started again on
 * the same data directory. The batch must still end {@code completed} with every {@code custom_id}
 * exactly once over the output and error files, every line answered {@code 200}, in input order,
 * and the upstream (the simulator, in this JVM) must have received at most {@code
 * batches.concurrency} requests more than there are lines per kill.
 *
 * <p>Each kill waits until {@code request_counts.completed} has passed a random point (drawn from a
 * seed printed with the result) and the restarted gateway has answered at least one line itself.
 * {@code -Dpenstock.crash.seed}, {@code -Dpenstock.crash.kills} (default {@value #DEFAULT_KILLS})
 * and {@code -Dpenstock.crash.lines} change the run; {@code scripts/batch-crash.sh} is the long
 * version with real {@code penstock} processes.
 */
@Tag("e2e")
class BatchCrashTest {
  private static final int DEFAULT_LINES = 2_000;
  private static final int DEFAULT_KILLS = 3;
  private static final int CONCURRENCY = 8;
  private static final Duration PROGRESS_WAIT = Duration.ofSeconds(60);
  private static final Duration COMPLETION_WAIT = Duration.ofMinutes(2);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private @Nullable MockServer mock;
  private final List<GatewayProcess> gateways = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @AfterEach
  void stop() {
    try {
      gateways.forEach(GatewayProcess::close);
    } finally {
      if (mock != null) {
        mock.close();
      }
      http.close();
    }
  }

  @Test
  void killedGatewaysResumeEveryLineOnceAndResendAtMostTheLinesInFlight() throws Exception {
    long seed = Long.getLong("penstock.crash.seed", ThreadLocalRandom.current().nextLong());
    int lines = Integer.getInteger("penstock.crash.lines", DEFAULT_LINES);
    int kills = Integer.getInteger("penstock.crash.kills", DEFAULT_KILLS);
    String run = "seed " + seed + ", " + lines + " lines, " + kills + " kills";
    try {
      scenario(seed, lines, kills, run);
    } catch (Throwable t) {
      System.out.println("BatchCrashTest failed (" + run + "); the gateways' logs:");
      for (GatewayProcess gateway : gateways) {
        System.out.println(gateway.logTail());
      }
      throw t;
    }
  }

  private void scenario(long seed, int lines, int kills, String run) throws Exception {
    long started = System.nanoTime();
    SplittableRandom random = new SplittableRandom(seed);
    // Three keys, limits far above the batch's needs; 20 ms to the first token, 2 ms for each of
    // the 8 output tokens, ±20%: about 30 to 45 ms a line.
    MockServer upstream =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .seed(seed)
                .outputTokens(8)
                .latency(new LatencyModel(20, 2, 0.2))
                .addKey(KeySpec.of("a", "sk-crash-a-0001", 1_000_000, 1_000_000_000))
                .addKey(KeySpec.of("b", "sk-crash-b-0001", 1_000_000, 1_000_000_000))
                .addKey(KeySpec.of("c", "sk-crash-c-0001", 1_000_000, 1_000_000_000))
                .build());
    mock = upstream;
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(
        config,
        """
        listen: 127.0.0.1:0
        storage:
          path: "%s"
        batches:
          concurrency: %d
        models:
          gpt-4o-mini:
            deployments:
              - {name: a, base_url: "%s", api_key: sk-crash-a-0001, rpm: 1000000, tpm: 1000000000}
              - {name: b, base_url: "%s", api_key: sk-crash-b-0001, rpm: 1000000, tpm: 1000000000}
              - {name: c, base_url: "%s", api_key: sk-crash-c-0001, rpm: 1000000, tpm: 1000000000}
        """
            .formatted(
                dir.resolve("data").resolve("penstock.db"),
                CONCURRENCY,
                upstream.baseUrl(),
                upstream.baseUrl(),
                upstream.baseUrl()),
        StandardCharsets.UTF_8);
    GatewayProcess gateway = start(config);
    List<String> killedAt = new ArrayList<>();
    killedAt.add("started at %.1f s".formatted(seconds(started)));

    String fileId = upload(gateway, input(lines)).get("id").asText();
    String batchId =
        post(
                gateway,
                "/v1/batches",
                "{\"input_file_id\":\""
                    + fileId
                    + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}")
            .get("id")
            .asText();

    // The kill points: one in each of `kills` equal parts of [5%, 85%] of the lines.
    double span = 0.8 / kills;
    for (int k = 0; k < kills; k++) {
      double from = 0.05 + k * span;
      int point = (int) (lines * (from + random.nextDouble() * span));
      int before = completed(batch(gateway, batchId));
      JsonNode now =
          awaitBatch(
              gateway,
              batchId,
              b -> completed(b) >= point && completed(b) > before,
              PROGRESS_WAIT,
              "completed past " + point + " and " + before);
      int status = gateway.kill();
      assertThat(status).as("the exit status of a SIGKILLed JVM").isEqualTo(137);
      killedAt.add(
          "%d/%d (%s) at %.1f s"
              .formatted(completed(now), lines, now.get("status").asText(), seconds(started)));
      gateway = start(config);
      killedAt.add("restarted at %.1f s".formatted(seconds(started)));
    }

    JsonNode done =
        awaitBatch(
            gateway,
            batchId,
            b -> !b.get("status").asText().matches("validating|in_progress|finalizing"),
            COMPLETION_WAIT,
            "an end");
    assertThat(done.get("status").asText()).as("the batch's end: %s", done).isEqualTo("completed");
    assertThat(done.at("/request_counts/total").asInt()).isEqualTo(lines);
    assertThat(done.at("/request_counts/completed").asInt()).isEqualTo(lines);
    assertThat(done.at("/request_counts/failed").asInt()).isZero();

    List<JsonNode> output = content(gateway, done.get("output_file_id"));
    List<JsonNode> errors = content(gateway, done.get("error_file_id"));
    Map<String, Integer> seen = new HashMap<>();
    for (JsonNode line : output) {
      seen.merge(line.get("custom_id").asText(), 1, Integer::sum);
    }
    for (JsonNode line : errors) {
      seen.merge(line.get("custom_id").asText(), 1, Integer::sum);
    }
    List<String> wrong = new ArrayList<>();
    for (int i = 0; i < lines; i++) {
      int n = seen.getOrDefault("line-" + i, 0);
      if (n != 1) {
        wrong.add("line-" + i + " x" + n);
      }
    }
    assertThat(wrong).as("custom_ids not exactly once over output and errors").isEmpty();
    assertThat(seen).hasSize(lines);
    assertThat(errors).as("error lines").isEmpty();
    assertThat(output)
        .as("output lines that are not a 200")
        .filteredOn(l -> l.at("/response/status_code").asInt() != 200 || !l.get("error").isNull())
        .isEmpty();
    List<String> order = output.stream().map(l -> l.get("custom_id").asText()).toList();
    List<String> inputOrder = new ArrayList<>();
    for (int i = 0; i < lines; i++) {
      inputOrder.add("line-" + i);
    }
    assertThat(order).as("the output in input order").isEqualTo(inputOrder);

    long upstreamRequests = upstream.stats().stream().mapToLong(KeyStats::requests).sum();
    long resends = upstreamRequests - lines;
    long bound = (long) kills * CONCURRENCY;
    System.out.printf(
        "BatchCrashTest: %s: killed at %s; upstream requests %d, re-sends %d (bound %d kills x %d"
            + " in flight = %d); %.1f s%n",
        run, killedAt, upstreamRequests, resends, kills, CONCURRENCY, bound, seconds(started));
    assertThat(resends).as("re-sends (%s)", run).isBetween(0L, bound);
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }

  private GatewayProcess start(Path config) {
    GatewayProcess gateway =
        GatewayProcess.start(config, dir.resolve("logs"), "gateway-" + (gateways.size() + 1));
    gateways.add(gateway);
    return gateway;
  }

  private static String input(int lines) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < lines; i++) {
      text.append("{\"custom_id\":\"line-")
          .append(i)
          .append("\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":")
          .append("{\"model\":\"gpt-4o-mini\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",")
          .append("\"content\":\"Say something about the number ")
          .append(i)
          .append(".\"}]}}\n");
    }
    return text.toString();
  }

  private static int completed(JsonNode batch) {
    return batch.at("/request_counts/completed").asInt();
  }

  /** Polls the batch (bounded) until {@code until} holds; returns the batch that satisfied it. */
  private JsonNode awaitBatch(
      GatewayProcess gateway,
      String id,
      java.util.function.Predicate<JsonNode> until,
      Duration wait,
      String what)
      throws Exception {
    long deadline = System.nanoTime() + wait.toNanos();
    JsonNode batch = batch(gateway, id);
    while (!until.test(batch)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no " + what + " within " + wait + ": " + batch);
      }
      LockSupport.parkNanos(10_000_000);
      batch = batch(gateway, id);
    }
    return batch;
  }

  private JsonNode batch(GatewayProcess gateway, String id) throws Exception {
    HttpResponse<String> response =
        http.send(
            request(gateway, "/v1/batches/" + id).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    return ok(response);
  }

  private JsonNode post(GatewayProcess gateway, String path, String json) throws Exception {
    return ok(
        http.send(
            request(gateway, path)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build(),
            HttpResponse.BodyHandlers.ofString()));
  }

  /** {@code POST /v1/files}, multipart as curl's {@code -F purpose=batch -F file=@input.jsonl}. */
  private JsonNode upload(GatewayProcess gateway, String jsonl) throws Exception {
    String boundary = "penstock-crash-" + Long.toHexString(System.nanoTime());
    String body = dev.penstock.server.testing.BatchClient.uploadBody(boundary, jsonl);
    return ok(
        http.send(
            request(gateway, "/v1/files")
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build(),
            HttpResponse.BodyHandlers.ofString()));
  }

  /** The lines of a file's content; none for a missing (null) file id. */
  private List<JsonNode> content(GatewayProcess gateway, @Nullable JsonNode fileId)
      throws Exception {
    if (fileId == null || fileId.isNull()) {
      return List.of();
    }
    HttpResponse<String> response =
        http.send(
            request(gateway, "/v1/files/" + fileId.asText() + "/content").GET().build(),
            HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    assertThat(response.statusCode()).as("the content of %s", fileId).isEqualTo(200);
    List<JsonNode> parsed = new ArrayList<>();
    for (String line : response.body().lines().toList()) {
      if (!line.isBlank()) {
        parsed.add(JSON.readTree(line));
      }
    }
    return parsed;
  }

  private static HttpRequest.Builder request(GatewayProcess gateway, String path) {
    return HttpRequest.newBuilder(URI.create(gateway.root() + path))
        .timeout(Duration.ofSeconds(30));
  }

  private static JsonNode ok(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode())
        .as("%s %s: %s", response.request().method(), response.request().uri(), response.body())
        .isEqualTo(200);
    return JSON.readTree(response.body());
  }
}
