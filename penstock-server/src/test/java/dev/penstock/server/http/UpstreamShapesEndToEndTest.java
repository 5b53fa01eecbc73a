package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.CompletionUsage;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.ResponseUsage;
import com.sun.net.httpserver.HttpServer;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.StreamJsonStyle;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.telemetry.PrometheusText;
import dev.penstock.server.testing.GatewayFixture;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The shapes an upstream may take, end to end between the official OpenAI Java SDK and the provider
 * simulator: the Responses API (named SSE events ending with {@code response.completed}, no {@code
 * [DONE]}), stream JSON written with spaces and keys in another order, and Azure OpenAI's URLs and
 * {@code api-key} credential. In each, the client gets every event and the gateway learns the usage
 * and the stream's proper end from what it relays — so it counts the tokens and appends no error.
 */
class UpstreamShapesEndToEndTest {
  private static final String OPENAI_KEY = "sk-up-openai-SECRET-41c7";
  private static final String AZURE_KEY = "az-up-SECRET-9d2e5f0a7b";

  /** The simulator's answer, 8 tokens: what every generating request here gets back. */
  private static final String TEXT = "The quick answer is that the pool of";

  /** A streamed Responses request, as the SDK sends it (without the SDK, to see the raw events). */
  private static final String RESPONSES_BODY =
      "{\"model\":\"gpt-4o-mini\",\"input\":\"Say something\",\"max_output_tokens\":64,"
          + "\"stream\":true}";

  private GatewayFixture fixture;

  @AfterEach
  void stop() {
    if (fixture != null) {
      fixture.close(); // fails the test if it left anything behind
    }
  }

  private OpenAIClient start(StreamJsonStyle style, String modelsYaml) {
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(5, 1, 0))
            .outputTokens(8)
            .seed(5)
            .streamJsonStyle(style)
            .addKey(KeySpec.of("openai", OPENAI_KEY, 600, 1_000_000))
            .addKey(KeySpec.of("azure", AZURE_KEY, 600, 1_000_000))
            .build();
    String yaml =
        """
        listen: 127.0.0.1:0
        defaults: {pacing_guard_ms: 10}
        models:
        %s"""
            .formatted(modelsYaml.indent(2));
    fixture = GatewayFixture.start(simulator, yaml);
    return fixture.sdk();
  }

  /** gpt-4o-mini on the simulator's OpenAI URLs. */
  private static String openAiModels() {
    return """
        gpt-4o-mini:
          deployments:
            - {name: oai, base_url: "${MOCK}", api_key: "%s", rpm: 600, tpm: 1000000}
        """
        .formatted(OPENAI_KEY);
  }

  private static ResponseCreateParams respond() {
    return ResponseCreateParams.builder()
        .model("gpt-4o-mini")
        .input("Say something")
        .maxOutputTokens(64)
        .build();
  }

  private static ChatCompletionCreateParams chat() {
    return ChatCompletionCreateParams.builder()
        .model("gpt-4o-mini")
        .addUserMessage("Hello")
        .maxCompletionTokens(64)
        .build();
  }

  @Test
  void theSdkStreamsAResponseThroughTheGatewayWhichCountsItsUsage() throws Exception {
    OpenAIClient sdk = start(StreamJsonStyle.COMPACT, openAiModels());

    ResponseUsage streamed = streamResponse(sdk);
    PrometheusText metrics = metricsAfter(1);
    assertThat(tokens(metrics, "input")).isEqualTo(streamed.inputTokens()).isPositive();
    assertThat(tokens(metrics, "output")).isEqualTo(streamed.outputTokens()).isEqualTo(8);
    assertThat(outcomes(metrics)).containsExactly("ok=1");

    Response whole = sdk.responses().create(respond());
    assertThat(outputText(whole)).isEqualTo(TEXT);
    ResponseUsage usage = whole.usage().orElseThrow();
    metrics = metricsAfter(2);
    assertThat(tokens(metrics, "input")).isEqualTo(streamed.inputTokens() + usage.inputTokens());
    assertThat(tokens(metrics, "output")).isEqualTo(streamed.outputTokens() + usage.outputTokens());
    assertThat(outcomes(metrics)).containsExactly("ok=2");

    assertEndsProperly(rawStream("/v1/responses", RESPONSES_BODY), "response.completed");
    metrics = metricsAfter(3);
    assertThat(outcomes(metrics)).containsExactly("ok=3");
    assertTokensAsTheSimulatorCounted(metrics, "openai");
  }

  @Test
  void spacedReorderedStreamJsonStillYieldsUsageAndAProperEnd() throws Exception {
    OpenAIClient sdk = start(StreamJsonStyle.SPACED, openAiModels());

    StringBuilder text = new StringBuilder();
    List<CompletionUsage> usages = new ArrayList<>();
    ChatCompletionCreateParams withUsage =
        chat().toBuilder()
            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
            .build();
    try (StreamResponse<ChatCompletionChunk> stream =
        sdk.chat().completions().createStreaming(withUsage)) {
      stream.stream()
          .forEach(
              chunk -> {
                chunk.choices().forEach(c -> text.append(c.delta().content().orElse("")));
                chunk.usage().ifPresent(usages::add);
              });
    }
    assertThat(text.toString()).isEqualTo(TEXT);
    assertThat(usages).hasSize(1);
    PrometheusText metrics = metricsAfter(1);
    assertThat(tokens(metrics, "input")).isEqualTo(usages.getFirst().promptTokens()).isPositive();
    assertThat(tokens(metrics, "output")).isEqualTo(usages.getFirst().completionTokens());
    assertThat(outcomes(metrics)).containsExactly("ok=1");

    ResponseUsage streamed = streamResponse(sdk);
    metrics = metricsAfter(2);
    assertThat(tokens(metrics, "output"))
        .isEqualTo(usages.getFirst().completionTokens() + streamed.outputTokens());
    assertThat(outcomes(metrics)).containsExactly("ok=2");

    String chatBody =
        """
        {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}],
         "max_completion_tokens":64,"stream":true,"stream_options":{"include_usage":true}}""";
    String rawChat = rawStream("/v1/chat/completions", chatBody);
    assertThat(rawChat).as("the simulator wrote spaced JSON").contains("\"usage\": {");
    assertEndsProperly(rawChat, "[DONE]");
    String rawResponses = rawStream("/v1/responses", RESPONSES_BODY);
    assertThat(rawResponses)
        .as("the simulator wrote \"type\" last")
        .contains("\"type\": \"response.completed\"}");
    assertEndsProperly(rawResponses, "response.completed");
    metrics = metricsAfter(4);
    assertThat(outcomes(metrics)).containsExactly("ok=4");
    assertTokensAsTheSimulatorCounted(metrics, "openai");
  }

  /**
   * A client that streams without {@code stream_options.include_usage} gets no usage chunk, as from
   * OpenAI; the gateway asked the simulator for it all the same (which, like OpenAI, sends it only
   * when asked), so it counts every token — for chat and legacy completions.
   */
  @Test
  void aStreamingClientThatDidNotAskForUsageGetsNoUsageChunkYetItsTokensAreCounted()
      throws Exception {
    OpenAIClient sdk = start(StreamJsonStyle.COMPACT, openAiModels());

    StringBuilder text = new StringBuilder();
    List<ChatCompletionChunk> withUsage = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream =
        sdk.chat().completions().createStreaming(chat())) {
      stream.stream()
          .forEach(
              chunk -> {
                chunk.choices().forEach(c -> text.append(c.delta().content().orElse("")));
                chunk.usage().ifPresent(u -> withUsage.add(chunk));
              });
    }
    assertThat(text.toString()).isEqualTo(TEXT);
    assertThat(withUsage).as("no usage chunk reached the client").isEmpty();

    String completions =
        rawStream(
            "/v1/completions",
            "{\"model\":\"gpt-4o-mini\",\"prompt\":\"Say something\",\"max_tokens\":64,"
                + "\"stream\":true}");
    assertEndsProperly(completions, "[DONE]");
    for (String event : completions.strip().split("\n\n", -1)) {
      String data = event.substring(event.indexOf("data: ") + 6);
      if (!data.equals("[DONE]")) {
        assertThat(RequestReader.JSON.readTree(data).path("usage").isObject()).as(event).isFalse();
      }
    }

    PrometheusText metrics = metricsAfter(2);
    assertThat(outcomes(metrics)).containsExactly("ok=2");
    assertThat(tokens(metrics, "input")).isPositive();
    assertThat(tokens(metrics, "output")).isEqualTo(16);
    assertTokensAsTheSimulatorCounted(metrics, "openai");
  }

  @Test
  void anAzureUpstreamServesChatEmbeddingsAndResponsesWithoutShowingItsKey() throws Exception {
    OpenAIClient sdk =
        start(
            StreamJsonStyle.COMPACT,
            """
            gpt-4o-mini:
              deployments:
                - {name: az-chat, provider: azure, api_version: 2025-03-01-preview,
                   base_url: "${MOCK_AZURE}", api_key: "%1$s", upstream_model: prod-4o-mini,
                   rpm: 600, tpm: 1000000}
            text-embedding-3-small:
              deployments:
                - {name: az-embed, provider: azure, api_version: 2025-03-01-preview,
                   base_url: "${MOCK_AZURE}", api_key: "%1$s", upstream_model: prod-embed,
                   rpm: 600, tpm: 1000000}
            """
                .formatted(AZURE_KEY));

    ChatCompletion completion = sdk.chat().completions().create(chat());
    assertThat(completion.choices().getFirst().message().content()).hasValue(TEXT);
    StringBuilder text = new StringBuilder();
    try (StreamResponse<ChatCompletionChunk> stream =
        sdk.chat().completions().createStreaming(chat())) {
      stream.stream()
          .forEach(c -> c.choices().forEach(ch -> text.append(ch.delta().content().orElse(""))));
    }
    assertThat(text.toString()).isEqualTo(TEXT);
    CreateEmbeddingResponse embeddings =
        sdk.embeddings()
            .create(
                EmbeddingCreateParams.builder()
                    .model("text-embedding-3-small")
                    .input("hello")
                    .build());
    assertThat(embeddings.data().getFirst().embedding()).hasSize(1536);
    assertThat(outputText(sdk.responses().create(respond()))).isEqualTo(TEXT);
    assertThat(streamResponse(sdk).outputTokens()).isEqualTo(8);

    // The same five as plain HTTP, to look at every header and byte the client receives.
    List<HttpResponse<String>> answers = new ArrayList<>();
    String chatBody =
        "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
    answers.add(fixture.post("/v1/chat/completions", chatBody + "}", Map.of()));
    answers.add(fixture.post("/v1/chat/completions", chatBody + ",\"stream\":true}", Map.of()));
    answers.add(
        fixture.post(
            "/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":\"hi\"}", Map.of()));
    answers.add(
        fixture.post(
            "/v1/responses", "{\"model\":\"gpt-4o-mini\",\"input\":\"Say something\"}", Map.of()));
    answers.add(fixture.post("/v1/responses", RESPONSES_BODY, Map.of()));
    for (HttpResponse<String> answer : answers) {
      String where = answer.request().uri().getPath();
      assertThat(answer.statusCode()).as(where + ": " + answer.body()).isEqualTo(200);
      assertThat(answer.headers().firstValue("x-penstock-deployment"))
          .as(where)
          .hasValueSatisfying(name -> assertThat(name).startsWith("az-"));
      assertThat(answer.body()).as(where).doesNotContain("SECRET");
      answer
          .headers()
          .map()
          .forEach(
              (name, values) ->
                  assertThat(name + ": " + values).as(where).doesNotContain("SECRET"));
    }

    KeyStats azure = stats("azure");
    assertThat(azure.requests()).as("every request arrived on the Azure key").isEqualTo(10);
    assertThat(azure.succeeded()).isEqualTo(10);
    assertThat(stats("openai").requests()).isZero();
  }

  /**
   * The simulator accepts a key in either header, so what the gateway sent is seen here on a
   * recording upstream: Azure's URL per endpoint, {@code api-version}, the key in {@code api-key}
   * and no {@code Authorization}.
   */
  @Test
  void azureRequestsCarryTheKeyInApiKeyAndTheDeploymentInTheUrl() throws Exception {
    List<String> seen = Collections.synchronizedList(new ArrayList<>());
    HttpServer upstream =
        HttpServer.create(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
    upstream.createContext(
        "/",
        exchange -> {
          byte[] request = exchange.getRequestBody().readAllBytes();
          seen.add(
              exchange.getRequestMethod()
                  + " "
                  + exchange.getRequestURI()
                  + " api-key="
                  + exchange.getRequestHeaders().getFirst("api-key")
                  + " authorization="
                  + exchange.getRequestHeaders().getFirst("Authorization")
                  + " model="
                  + RequestReader.JSON.readTree(request).path("model").asText("-"));
          byte[] answer =
              "{\"object\":\"x\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}"
                  .getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(200, answer.length);
          exchange.getResponseBody().write(answer);
          exchange.close();
        });
    upstream.start();
    try {
      String root = "http://127.0.0.1:" + upstream.getAddress().getPort();
      fixture =
          GatewayFixture.gatewayOnly(
              """
              listen: 127.0.0.1:0
              models:
                gpt-4o-mini:
                  deployments:
                    - {name: az-chat, provider: azure, api_version: 2025-03-01-preview,
                       base_url: "%1$s", api_key: "%2$s", upstream_model: prod-4o-mini,
                       rpm: 600, tpm: 1000000}
                text-embedding-3-small:
                  deployments:
                    - {name: az-embed, provider: azure, api_version: 2025-03-01-preview,
                       base_url: "%1$s", api_key: "%2$s", upstream_model: prod-embed,
                       rpm: 600, tpm: 1000000}
              """
                  .formatted(root, AZURE_KEY),
              b -> b);
      String chat =
          "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
      assertThat(fixture.post("/v1/chat/completions", chat, Map.of()).statusCode()).isEqualTo(200);
      assertThat(
              fixture
                  .post(
                      "/v1/embeddings",
                      "{\"model\":\"text-embedding-3-small\",\"input\":\"hi\"}",
                      Map.of())
                  .statusCode())
          .isEqualTo(200);
      assertThat(
              fixture
                  .post("/v1/responses", "{\"model\":\"gpt-4o-mini\",\"input\":\"Hi\"}", Map.of())
                  .statusCode())
          .isEqualTo(200);
      String auth = " api-key=" + AZURE_KEY + " authorization=null";
      assertThat(seen)
          .containsExactly(
              "POST /openai/deployments/prod-4o-mini/chat/completions"
                  + "?api-version=2025-03-01-preview"
                  + auth
                  + " model=prod-4o-mini",
              "POST /openai/deployments/prod-embed/embeddings?api-version=2025-03-01-preview"
                  + auth
                  + " model=prod-embed",
              "POST /openai/responses?api-version=2025-03-01-preview"
                  + auth
                  + " model=prod-4o-mini");
    } finally {
      if (fixture != null) {
        fixture.close();
        fixture = null;
      }
      upstream.stop(0);
    }
  }

  /**
   * Streams {@link #respond()} through the SDK, checks that every event the simulator sends arrived
   * in order and whole, and returns the usage of {@code response.completed}.
   */
  private static ResponseUsage streamResponse(OpenAIClient sdk) {
    List<String> kinds = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    Response[] completed = new Response[1];
    try (StreamResponse<ResponseStreamEvent> stream = sdk.responses().createStreaming(respond())) {
      stream.stream()
          .forEach(
              event -> {
                kinds.add(kind(event));
                event.outputTextDelta().ifPresent(d -> text.append(d.delta()));
                event.completed().ifPresent(c -> completed[0] = c.response());
              });
    }
    List<String> expected = new ArrayList<>();
    expected.addAll(List.of("created", "in_progress", "output_item.added", "content_part.added"));
    expected.addAll(Collections.nCopies(8, "output_text.delta"));
    expected.addAll(
        List.of("output_text.done", "content_part.done", "output_item.done", "completed"));
    assertThat(kinds).containsExactlyElementsOf(expected);
    assertThat(text.toString()).isEqualTo(TEXT);
    assertThat(outputText(completed[0])).isEqualTo(TEXT);
    return completed[0].usage().orElseThrow();
  }

  /** The kinds of event the simulator sends, named after their {@code type} without "response.". */
  private static String kind(ResponseStreamEvent event) {
    if (event.isCreated()) {
      return "created";
    } else if (event.isInProgress()) {
      return "in_progress";
    } else if (event.isOutputItemAdded()) {
      return "output_item.added";
    } else if (event.isContentPartAdded()) {
      return "content_part.added";
    } else if (event.isOutputTextDelta()) {
      return "output_text.delta";
    } else if (event.isOutputTextDone()) {
      return "output_text.done";
    } else if (event.isContentPartDone()) {
      return "content_part.done";
    } else if (event.isOutputItemDone()) {
      return "output_item.done";
    } else if (event.isCompleted()) {
      return "completed";
    }
    return "unexpected: " + event;
  }

  private static String outputText(Response response) {
    return response.output().getFirst().asMessage().content().getFirst().asOutputText().text();
  }

  /** POSTs a streamed request and returns the whole event stream as the client received it. */
  private String rawStream(String path, String body) throws Exception {
    HttpResponse<String> answer = fixture.post(path, body, Map.of());
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    assertThat(answer.headers().firstValue("content-type"))
        .hasValueSatisfying(type -> assertThat(type).startsWith("text/event-stream"));
    return answer.body();
  }

  /**
   * The last event the client received is the upstream's own end ({@code data: [DONE]}, or the
   * named terminal event): the gateway appended no error event after it.
   */
  private static void assertEndsProperly(String stream, String end) throws Exception {
    List<String> events = List.of(stream.strip().split("\n\n"));
    String last = events.getLast();
    if (end.equals("[DONE]")) {
      assertThat(last).isEqualTo("data: [DONE]");
    } else {
      assertThat(last).startsWith("event: " + end + "\ndata: ");
      JsonNode data = RequestReader.JSON.readTree(last.substring(last.indexOf("data: ") + 6));
      assertThat(data.path("type").asText()).isEqualTo(end);
    }
    assertThat(stream).doesNotContain("stream_incomplete").doesNotContain("upstream_error");
  }

  /**
   * The gateway's metrics once it has recorded {@code requests} requests. The record is written
   * just after the answer's last byte, so a client can read its answer a moment before: wait
   * (bounded).
   */
  private PrometheusText metricsAfter(int requests) throws Exception {
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (true) {
      PrometheusText metrics = PrometheusText.parse(fixture.get("/metrics", Map.of()).body());
      double recorded = metrics.sum("penstock_request_duration_seconds_count");
      if (recorded >= requests || System.nanoTime() > deadline) {
        assertThat(recorded).as("requests recorded").isEqualTo(requests);
        return metrics;
      }
      LockSupport.parkNanos(5_000_000);
    }
  }

  private static long tokens(PrometheusText metrics, String type) {
    return (long) metrics.sum("penstock_tokens_total", "type", type);
  }

  /** The non-zero {@code penstock_requests_total} counts by outcome, as "outcome=count". */
  private static List<String> outcomes(PrometheusText metrics) {
    return metrics.samples().stream()
        .filter(s -> s.name().equals("penstock_requests_total") && s.value() > 0)
        .map(s -> s.labels().get("outcome") + "=" + (long) s.value())
        .toList();
  }

  private void assertTokensAsTheSimulatorCounted(PrometheusText metrics, String key) {
    KeyStats stats = stats(key);
    assertThat(tokens(metrics, "input")).isEqualTo(stats.promptTokens());
    assertThat(tokens(metrics, "output")).isEqualTo(stats.completionTokens());
  }

  private KeyStats stats(String key) {
    return fixture.mock().stats().stream()
        .filter(s -> s.name().equals(key))
        .findFirst()
        .orElseThrow();
  }
}
