package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.OpenAIException;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import dev.penstock.mock.FaultKind;
import dev.penstock.mock.FaultRates;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.testing.GatewayFixture;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway between the official OpenAI Java SDK and the provider simulator, over real loopback
 * sockets: the SDK sees OpenAI; the simulator, acting as referee, never has to send a {@code 429}.
 */
class GatewayEndToEndTest {
  private GatewayFixture fixture;
  private MockServer mock;
  private GatewayServer gateway;
  private OpenAIClient sdk;
  private HttpClient http;

  private void start(MockConfig mockConfig, String deploymentsYaml) {
    String yaml =
        """
        listen: 127.0.0.1:0
        defaults:
          pacing_guard_ms: 100
        models:
        %s
        """
            .formatted(deploymentsYaml.indent(2));
    fixture = GatewayFixture.start(mockConfig, yaml);
    mock = fixture.mock();
    gateway = fixture.gateway();
    sdk = fixture.sdk();
    http = fixture.http();
  }

  private static MockConfig.Builder mockOf(KeySpec... keys) {
    MockConfig.Builder builder =
        MockConfig.builder().port(0).latency(new LatencyModel(20, 2, 0)).outputTokens(8);
    for (KeySpec key : keys) {
      builder.addKey(key);
    }
    return builder;
  }

  private static String deployment(String name, String key, long rpm, long tpm) {
    return """
        - name: %s
          base_url: ${MOCK}
          api_key: %s
          rpm: %d
          tpm: %d
        """
        .formatted(name, key, rpm, tpm);
  }

  private static String model(String name, String... deployments) {
    return name + ":\n  deployments:\n" + String.join("", deployments).indent(4);
  }

  @AfterEach
  void stop() {
    if (fixture != null) {
      fixture.close(); // fails the test if it left anything behind
    }
  }

  private static ChatCompletionCreateParams chat(String model) {
    return ChatCompletionCreateParams.builder()
        .model(model)
        .addUserMessage("Hello")
        .maxCompletionTokens(20)
        .build();
  }

  private HttpResponse<String> post(String path, String body, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(gateway.baseUrl() + path))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(request::header);
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theSdkChatsStreamsEmbedsAndListsModelsThroughTheGateway() {
    start(
        mockOf(KeySpec.of("a", "sk-up-a-000001", 600, 100_000)).build(),
        model("gpt-4o-mini", deployment("dep-a", "sk-up-a-000001", 600, 100_000))
            + model("text-embedding-3-small", deployment("emb-a", "sk-up-a-000001", 600, 100_000)));

    ChatCompletion completion = sdk.chat().completions().create(chat("gpt-4o-mini"));
    assertThat(completion.choices().getFirst().message().content())
        .hasValue("The quick answer is that the pool of");

    CreateEmbeddingResponse embeddings =
        sdk.embeddings()
            .create(
                EmbeddingCreateParams.builder()
                    .model("text-embedding-3-small")
                    .input("hello")
                    .build());
    assertThat(embeddings.data().getFirst().embedding()).hasSize(1536);

    assertThat(sdk.models().list().data().stream().map(Model::id))
        .containsExactly("gpt-4o-mini", "text-embedding-3-small");

    assertThatThrownBy(() -> sdk.chat().completions().create(chat("no-such-model")))
        .isInstanceOf(NotFoundException.class)
        .hasMessageContaining("does not exist");
    assertThat(mock.stats().getFirst().rateLimited()).isZero();
  }

  @Test
  void streamedChunksArriveAsTheUpstreamSendsThemNotAllAtTheEnd() {
    start(
        mockOf(KeySpec.of("a", "sk-up-a-000001", 600, 100_000))
            .latency(new LatencyModel(30, 40, 0))
            .outputTokens(12)
            .build(),
        model("gpt-4o-mini", deployment("dep-a", "sk-up-a-000001", 600, 100_000)));
    long start = System.nanoTime();
    List<Long> arrivals = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    try (StreamResponse<ChatCompletionChunk> stream =
        sdk.chat().completions().createStreaming(chat("gpt-4o-mini"))) {
      stream.stream()
          .forEach(
              chunk -> {
                arrivals.add(System.nanoTime() - start);
                chunk.choices().forEach(c -> text.append(c.delta().content().orElse("")));
              });
    }
    assertThat(text.toString())
        .isEqualTo("The quick answer is that the pool of keys keeps up with");
    long first = arrivals.getFirst();
    long total = arrivals.getLast();
    // 12 tokens at 40 ms each follow the first chunk: a relay that buffered would deliver all at
    // once. (When the first chunk arrives depends on the machine's load; the spread does not.)
    assertThat(total - first)
        .as("spread of chunk arrivals")
        .isGreaterThan(Duration.ofMillis(200).toNanos());
  }

  @Test
  void concurrentLoadIsPacedOverTheKeysWithoutASingleUpstream429() throws Exception {
    start(
        mockOf(
                KeySpec.of("a", "sk-up-a-000001", 120, 100_000),
                KeySpec.of("b", "sk-up-b-000002", 120, 100_000))
            .latency(LatencyModel.ZERO)
            .build(),
        model(
            "gpt-4o-mini",
            deployment("a", "sk-up-a-000001", 120, 100_000),
            deployment("b", "sk-up-b-000002", 120, 100_000)));
    List<Future<HttpResponse<String>>> answers = new ArrayList<>();
    try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < 12; i++) {
        answers.add(
            clients.submit(
                () ->
                    post(
                        "/chat/completions",
                        "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":5}",
                        Map.of())));
      }
      Map<String, Integer> byDeployment = new java.util.HashMap<>();
      for (Future<HttpResponse<String>> answer : answers) {
        HttpResponse<String> response = answer.get();
        assertThat(response.statusCode()).isEqualTo(200);
        byDeployment.merge(
            response.headers().firstValue("x-penstock-deployment").orElseThrow(), 1, Integer::sum);
      }
      assertThat(byDeployment).containsEntry("a", 6).containsEntry("b", 6);
    }
    for (KeyStats key : mock.stats()) {
      assertThat(key.rateLimited()).as(key.name() + " 429s").isZero();
      // 120 RPM (+ guard) is one request per ~500 ms: never more than 3 within a second.
      assertThat(key.peakRequests1s())
          .as(key.name() + " peak in one second")
          .isLessThanOrEqualTo(3);
    }
  }

  @Test
  void anUpstreamRateLimitIsRetriedElsewhereNotPassedOn() throws Exception {
    // The gateway believes key "a" allows 600 RPM; the simulator knows it allows only 2. Answers
    // take 300 ms, so the gateway sends a its third request before any answer could warn it.
    start(
        mockOf(
                KeySpec.of("a", "sk-up-a-000001", 2, 100_000),
                KeySpec.of("b", "sk-up-b-000002", 600, 100_000))
            .latency(new LatencyModel(300, 0, 0))
            .build(),
        model(
            "gpt-4o-mini",
            deployment("a", "sk-up-a-000001", 600, 100_000),
            deployment("b", "sk-up-b-000002", 600, 100_000)));
    String body =
        "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":5}";
    List<Future<HttpResponse<String>>> answers = new ArrayList<>();
    try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < 6; i++) {
        answers.add(clients.submit(() -> post("/chat/completions", body, Map.of())));
      }
      List<String> attempts = new ArrayList<>();
      for (Future<HttpResponse<String>> answer : answers) {
        assertThat(answer.get().statusCode()).isEqualTo(200);
        attempts.add(answer.get().headers().firstValue("x-penstock-attempts").orElseThrow());
      }
      assertThat(attempts).contains("2");
    }
    assertThat(mock.stats().get(0).rateLimited())
        .as("the simulator refused a's third request")
        .isEqualTo(1);
    assertThat(gateway.admissions().<Long>inspect(s -> s.deployment("a").orElseThrow().rpm()))
        .as("the lower limit the upstream reported is adopted")
        .isEqualTo(2);
  }

  @Test
  void insufficientQuotaTakesTheDeploymentOutAndTrafficMovesOn() throws Exception {
    start(
        mockOf(
                KeySpec.of("broke", "sk-up-a-000001", 600, 100_000)
                    .withFaults(new FaultRates(Map.of(FaultKind.QUOTA, 1.0))),
                KeySpec.of("ok", "sk-up-b-000002", 600, 100_000))
            .latency(LatencyModel.ZERO)
            .build(),
        model(
            "gpt-4o-mini",
            deployment("broke", "sk-up-a-000001", 600, 100_000),
            deployment("ok", "sk-up-b-000002", 600, 100_000)));
    for (int i = 0; i < 3; i++) {
      ChatCompletion completion = sdk.chat().completions().create(chat("gpt-4o-mini"));
      assertThat(completion.choices()).hasSize(1);
    }
    String reason =
        gateway.admissions().inspect(s -> s.deployment("broke").orElseThrow().disabledReason());
    assertThat(reason).isEqualTo("insufficient_quota");
    assertThat(mock.stats().get(0).requests()).as("tried once, then left alone").isEqualTo(1);
    assertThat(mock.stats().get(1).succeeded()).isEqualTo(3);
  }

  @Test
  void anUpstreamRequestTooLargeIsTheClientsError() {
    start(
        mockOf(KeySpec.of("a", "sk-up-a-000001", 600, 100)).build(),
        model("gpt-4o-mini", deployment("a", "sk-up-a-000001", 600, 100_000)));
    assertThatThrownBy(
            () ->
                sdk.chat()
                    .completions()
                    .create(chat("gpt-4o-mini").toBuilder().maxCompletionTokens(500).build()))
        .isInstanceOf(BadRequestException.class)
        .hasMessageContaining("Request too large");
  }

  @Test
  void aRequestThatCannotStartBeforeItsDeadlineIsRefusedAtOnceWithRetryAfter() throws Exception {
    start(
        mockOf(KeySpec.of("a", "sk-up-a-000001", 6, 100_000)).latency(LatencyModel.ZERO).build(),
        model("gpt-4o-mini", deployment("a", "sk-up-a-000001", 6, 100_000)));
    String body =
        "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":5}";
    assertThat(post("/chat/completions", body, Map.of()).statusCode()).isEqualTo(200);
    HttpResponse<String> refused =
        post("/chat/completions", body, Map.of("x-penstock-timeout-ms", "2000"));
    assertThat(refused.statusCode()).isEqualTo(429);
    JsonNode error = RequestReader.JSON.readTree(refused.body()).get("error");
    assertThat(error.get("type").asText()).isEqualTo("penstock_overloaded");
    // 6 RPM: the next slot is ~10 s away; with a 2 s budget, retry in ~8 s.
    long retryMs = Long.parseLong(refused.headers().firstValue("retry-after-ms").orElseThrow());
    assertThat(retryMs).isBetween(7_000L, 8_100L);
    assertThat(refused.headers().firstValue("retry-after"))
        .hasValue(Long.toString((retryMs + 999) / 1000));
    assertThatThrownBy(
            () ->
                sdk.chat()
                    .completions()
                    .create(
                        chat("gpt-4o-mini").toBuilder()
                            .putAdditionalHeader("x-penstock-timeout-ms", "2000")
                            .build()))
        .isInstanceOf(RateLimitException.class)
        .hasMessageContaining("could not start before its deadline");
    assertThat(mock.stats().getFirst().rateLimited()).isZero();
  }

  @Test
  void aStreamCutByTheUpstreamEndsWithAnErrorTheSdkRaises() {
    start(
        mockOf(
                KeySpec.of("a", "sk-up-a-000001", 600, 100_000)
                    .withFaults(new FaultRates(Map.of(FaultKind.CUT, 1.0))))
            .build(),
        model("gpt-4o-mini", deployment("a", "sk-up-a-000001", 600, 100_000)));
    assertThatThrownBy(
            () -> {
              try (StreamResponse<ChatCompletionChunk> stream =
                  sdk.chat().completions().createStreaming(chat("gpt-4o-mini"))) {
                stream.stream().forEach(chunk -> {});
              }
            })
        .isInstanceOf(OpenAIException.class)
        .hasMessageContaining("broke off");
  }

  @Test
  void badInputGetsOpenAiShapedClientErrors() throws Exception {
    start(
        mockOf(KeySpec.of("a", "sk-up-a-000001", 600, 100_000)).build(),
        model("gpt-4o-mini", deployment("a", "sk-up-a-000001", 600, 100_000)));
    assertThat(post("/chat/completions", "{nope", Map.of()).statusCode()).isEqualTo(400);
    assertThat(
            post("/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[]}", Map.of())
                .statusCode())
        .isEqualTo(400);
    assertThat(
            post(
                    "/chat/completions",
                    "{\"model\":\"gpt-4o-mini\",\"messages\":[{}]}",
                    Map.of("x-penstock-priority", "urgent"))
                .statusCode())
        .isEqualTo(400);
    assertThat(
            post(
                    "/chat/completions",
                    "{\"model\":\"gpt-4o-mini\",\"messages\":[{}]}",
                    Map.of("x-penstock-timeout-ms", "-3"))
                .statusCode())
        .isEqualTo(400);
    assertThat(post("/nowhere", "{}", Map.of()).statusCode()).isEqualTo(404);
    HttpResponse<String> wrongMethod =
        http.send(
            HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/chat/completions"))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(wrongMethod.statusCode()).isEqualTo(405);
    assertThat(RequestReader.JSON.readTree(wrongMethod.body()).at("/error/code").asText())
        .isEqualTo("method_not_allowed");
    assertThat(mock.stats().getFirst().requests()).as("nothing reached the upstream").isZero();
  }
}
