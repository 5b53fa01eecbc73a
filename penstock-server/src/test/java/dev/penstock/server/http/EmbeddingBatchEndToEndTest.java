package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.testing.GatewayFixture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Embedding micro-batching end to end: the official OpenAI Java SDK, fifty callers at once, the
 * gateway with a batch window in front of the provider simulator. The simulator sees a handful of
 * requests instead of fifty; each caller gets the simulator's vector of its own input and a share
 * of the usage, and the shares add up to what the simulator counted.
 */
class EmbeddingBatchEndToEndTest {
  private static final int CALLERS = 50;
  private static final int DIMENSIONS = 16;
  private static final String MODEL = "text-embedding-3-small";

  private GatewayFixture fixture;

  @AfterEach
  void stop() {
    if (fixture != null) {
      fixture.close(); // fails the test if a reservation or a budget hold is left behind
    }
  }

  @Test
  void concurrentCallersShareAHandfulOfUpstreamRequestsAndEachGetsItsOwnVector() throws Exception {
    fixture =
        GatewayFixture.start(
            MockConfig.builder()
                .port(0)
                .latency(new LatencyModel(20, 0, 0))
                .embeddingDimensions(DIMENSIONS)
                .addKey(KeySpec.of("a", "sk-up-a-000001", 100_000, 100_000_000))
                .build(),
            """
            listen: 127.0.0.1:0
            defaults:
              pacing_guard_ms: 100
            embeddings:
              batch_window_ms: 50
            models:
              text-embedding-3-small:
                deployments:
                  - name: emb-a
                    base_url: ${MOCK}
                    api_key: sk-up-a-000001
                    rpm: 100000
                    tpm: 100000000
            """);
    List<String> inputs = new ArrayList<>();
    for (int i = 0; i < CALLERS; i++) {
      inputs.add("caller " + i + " asks about " + "penstock ".repeat(1 + i % 7).trim());
    }

    List<CreateEmbeddingResponse> answers = embedAllAtOnce(inputs);

    List<KeyStats> stats = fixture.mock().stats();
    long upstreamRequests = stats.stream().mapToLong(KeyStats::requests).sum();
    long upstreamTokens = stats.stream().mapToLong(KeyStats::promptTokens).sum();
    assertThat(upstreamRequests).as("merged into a handful").isBetween(1L, 10L);
    long sum = 0;
    for (int i = 0; i < CALLERS; i++) {
      CreateEmbeddingResponse answer = answers.get(i);
      assertThat(answer.data()).hasSize(1);
      assertThat(answer.data().getFirst().index()).isZero();
      assertThat(answer.model()).isEqualTo(MODEL);
      List<Float> vector = answer.data().getFirst().embedding();
      float[] expected = dev.penstock.mock.MockServer.embeddingOf(inputs.get(i), DIMENSIONS);
      assertThat(vector).hasSize(DIMENSIONS);
      for (int d = 0; d < DIMENSIONS; d++) {
        assertThat(vector.get(d))
            .as("caller %d, dimension %d", i, d)
            .isCloseTo(expected[d], within(1e-6f));
      }
      long prompt = answer.usage().promptTokens();
      assertThat(prompt).as("caller %d's usage", i).isPositive();
      assertThat(answer.usage().totalTokens()).isEqualTo(prompt);
      sum += prompt;
    }
    assertThat(sum)
        .as("the callers' shares add up to the upstream's count")
        .isEqualTo(upstreamTokens);

    String metrics = fixture.get("/metrics", Map.of()).body();
    assertThat(counter(metrics, "penstock_embedding_batches_total")).isEqualTo(upstreamRequests);
    assertThat(counter(metrics, "penstock_embedding_batched_requests_total")).isEqualTo(CALLERS);
  }

  @Test
  void eachVirtualKeyIsChargedAndBilledForItsOwnShareOfAMergedRequest() throws Exception {
    String admin = "admin-e2e-embeddings";
    fixture =
        GatewayFixture.start(
            MockConfig.builder()
                .port(0)
                .latency(new LatencyModel(20, 0, 0))
                .embeddingDimensions(DIMENSIONS)
                .addKey(KeySpec.of("a", "sk-up-a-000001", 100_000, 100_000_000))
                .build(),
            """
            listen: 127.0.0.1:0
            admin_key: %s
            embeddings:
              batch_window_ms: 50
            models:
              text-embedding-3-small:
                deployments:
                  - {name: emb-a, base_url: "${MOCK}", api_key: sk-up-a-000001, rpm: 100000, tpm: 100000000}
            pricing:
              text-embedding-3-small: {input_per_1m: 1000, output_per_1m: 0}
            """
                .formatted(admin));
    Map<String, String> auth = Map.of("Authorization", "Bearer " + admin);
    String small =
        key(
            fixture
                .post(
                    "/admin/keys",
                    "{\"name\": \"small\", \"rpm\": 1000, \"budget_usd_daily\": 100}",
                    auth)
                .body());
    String large =
        key(fixture.post("/admin/keys", "{\"name\": \"large\", \"tpm\": 1000000}", auth).body());
    List<String> inputs = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      inputs.add(
          "text " + i + " of " + (i < 10 ? "the small key" : "the large key, rather longer"));
      keys.add(i < 10 ? small : large);
    }

    List<CreateEmbeddingResponse> answers = embedAllAtOnce(inputs, keys);
    fixture.awaitIdle();

    KeyStats simulator = fixture.mock().stats().getFirst();
    assertThat(simulator.requests()).as("merged").isLessThan(30);
    long sdkTokens = answers.stream().mapToLong(a -> a.usage().promptTokens()).sum();
    assertThat(sdkTokens).isEqualTo(simulator.promptTokens());
    JsonNode byKey =
        RequestReader.JSON
            .readTree(fixture.get("/admin/usage?group_by=key", auth).body())
            .path("data");
    Map<String, JsonNode> rows = new HashMap<>();
    byKey.forEach(r -> rows.put(r.path("name").asText(), r));
    assertThat(rows.get("small").path("requests").asLong()).isEqualTo(10);
    assertThat(rows.get("large").path("requests").asLong()).isEqualTo(20);
    long smallTokens =
        answers.subList(0, 10).stream().mapToLong(a -> a.usage().promptTokens()).sum();
    assertThat(rows.get("small").path("input_tokens").asLong()).isEqualTo(smallTokens);
    assertThat(rows.get("large").path("input_tokens").asLong())
        .isEqualTo(simulator.promptTokens() - smallTokens);
    assertThat(
            rows.get("small").path("cost_usd").asDouble()
                + rows.get("large").path("cost_usd").asDouble())
        .as("the bill is the upstream's count at the price")
        .isCloseTo(simulator.promptTokens() * 1000.0 / 1e6, within(1e-9));
  }

  private static String key(String created) throws Exception {
    return RequestReader.JSON.readTree(created).path("key").asText();
  }

  /** Sends every input at once, each from a thread of its own; the answers in input order. */
  private List<CreateEmbeddingResponse> embedAllAtOnce(List<String> inputs) throws Exception {
    return embedAllAtOnce(inputs, java.util.Collections.nCopies(inputs.size(), null));
  }

  /** Like {@link #embedAllAtOnce(List)}, each input sent with its virtual key (null: none). */
  private List<CreateEmbeddingResponse> embedAllAtOnce(
      List<String> inputs, List<@Nullable String> keys) throws Exception {
    CountDownLatch go = new CountDownLatch(1);
    List<Future<CreateEmbeddingResponse>> futures = new ArrayList<>();
    Map<String, OpenAIClient> clients = new HashMap<>();
    for (String key : keys) {
      if (key != null) {
        clients.computeIfAbsent(
            key,
            k ->
                OpenAIOkHttpClient.builder()
                    .baseUrl(fixture.baseUrl())
                    .apiKey(k)
                    .maxRetries(0)
                    .timeout(Duration.ofSeconds(30))
                    .build());
      }
    }
    try (ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < inputs.size(); i++) {
        String input = inputs.get(i);
        String key = keys.get(i);
        OpenAIClient sdk = key == null ? fixture.sdk() : clients.get(key);
        futures.add(
            callers.submit(
                () -> {
                  if (!go.await(30, TimeUnit.SECONDS)) {
                    throw new AssertionError("never started");
                  }
                  return sdk.embeddings()
                      .create(EmbeddingCreateParams.builder().model(MODEL).input(input).build());
                }));
      }
      go.countDown();
      List<CreateEmbeddingResponse> answers = new ArrayList<>();
      for (Future<CreateEmbeddingResponse> f : futures) {
        answers.add(f.get(30, TimeUnit.SECONDS));
      }
      return answers;
    } finally {
      clients.values().forEach(OpenAIClient::close);
    }
  }

  /** The sum of a counter's samples in a Prometheus scrape. */
  private static long counter(String scrape, String name) {
    Matcher m = Pattern.compile("(?m)^" + name + "\\{[^}]*} ([0-9.eE+]+)$").matcher(scrape);
    double sum = 0;
    while (m.find()) {
      sum += Double.parseDouble(m.group(1));
    }
    return (long) sum;
  }
}
