package dev.penstock.mock;

import static dev.penstock.mock.MockHttp.chat;
import static dev.penstock.mock.MockHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.ConnectException;
import java.net.http.HttpResponse;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The simulator over real loopback sockets: limits, headers, bodies, errors. */
class MockServerTest {
  private static final String DURATION = "^(\\d+ms|(\\d+h)?(\\d+m)?\\d+(\\.\\d+)?s)$";
  private static final String KEY = "sk-test-limited-0001";
  private static final String BIG = "sk-test-big-00000002";

  private MockServer server;
  private MockHttp http;

  @BeforeEach
  void start() {
    server =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(new LatencyModel(30, 2, 0))
                .outputTokens(5)
                .embeddingDimensions(8)
                .addKey(KeySpec.of("limited", KEY, 2, 1000))
                .addKey(KeySpec.of("big", BIG, 100_000, 10_000_000))
                .build());
    http = new MockHttp(server);
  }

  @AfterEach
  void stop() {
    http.close();
    server.close();
  }

  @Test
  void everyAnswerCarriesRateLimitHeadersInOpenAiFormats() throws Exception {
    HttpResponse<String> ok = http.post("/v1/chat/completions", KEY, chat(10, false));
    assertThat(ok.statusCode()).isEqualTo(200);
    var headers = ok.headers();
    assertThat(headers.firstValue("x-ratelimit-limit-requests")).hasValue("2");
    assertThat(headers.firstValue("x-ratelimit-limit-tokens")).hasValue("1000");
    assertThat(headers.firstValue("x-ratelimit-remaining-requests")).hasValue("1");
    // "Hello there" is 9 prompt tokens in chat format, plus the cap of 10.
    assertThat(headers.firstValue("x-ratelimit-remaining-tokens")).hasValue("981");
    assertThat(headers.firstValue("x-ratelimit-reset-requests").orElseThrow()).matches(DURATION);
    assertThat(headers.firstValue("x-ratelimit-reset-tokens").orElseThrow()).matches(DURATION);
    assertThat(headers.firstValue("x-request-id").orElseThrow()).matches("req_[0-9a-f]{32}");
    // 30 ms to the first token + 5 tokens at 2 ms, without jitter.
    assertThat(headers.firstValue("openai-processing-ms")).hasValue("40");

    JsonNode body = json(ok);
    assertThat(body.get("object").asText()).isEqualTo("chat.completion");
    assertThat(body.get("id").asText()).startsWith("chatcmpl-");
    assertThat(body.at("/choices/0/message/role").asText()).isEqualTo("assistant");
    assertThat(body.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
    assertThat(body.at("/usage/prompt_tokens").asInt()).isEqualTo(9);
    assertThat(body.at("/usage/completion_tokens").asInt()).isEqualTo(5);
    assertThat(body.at("/usage/total_tokens").asInt()).isEqualTo(14);
  }

  @Test
  void overTheRpmLimitAnswers429WithOpenAisBodyAndRetryHeaders() throws Exception {
    http.post("/v1/chat/completions", KEY, chat(10, false));
    http.post("/v1/chat/completions", KEY, chat(10, false));
    HttpResponse<String> limited = http.post("/v1/chat/completions", KEY, chat(10, false));

    assertThat(limited.statusCode()).isEqualTo(429);
    JsonNode error = json(limited).get("error");
    assertThat(error.get("type").asText()).isEqualTo("requests");
    assertThat(error.get("code").asText()).isEqualTo("rate_limit_exceeded");
    assertThat(error.has("param")).isTrue();
    assertThat(error.get("message").asText())
        .startsWith("Rate limit reached for gpt-4o-mini in organization")
        .contains("on requests per min (RPM): Limit 2, Used 2, Requested 1.")
        .containsPattern("Please try again in (\\d+(\\.\\d+)?s|\\d+ms)\\.");
    assertThat(limited.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
    long retryMs = Long.parseLong(limited.headers().firstValue("retry-after-ms").orElseThrow());
    assertThat(retryMs).isBetween(50_000L, 60_000L);
    assertThat(limited.headers().firstValue("retry-after")).hasValue("60");
  }

  @Test
  void overTheTpmLimitAnswers429TokensAndATooLargeRequestIsNamedSo() throws Exception {
    assertThat(http.post("/v1/chat/completions", KEY, chat(600, false)).statusCode())
        .isEqualTo(200);
    HttpResponse<String> tokens = http.post("/v1/chat/completions", KEY, chat(600, false));
    assertThat(tokens.statusCode()).isEqualTo(429);
    assertThat(json(tokens).at("/error/type").asText()).isEqualTo("tokens");
    assertThat(json(tokens).at("/error/message").asText())
        .contains("tokens per min (TPM): Limit 1000, Used 609, Requested 609");

    HttpResponse<String> tooLarge = http.post("/v1/chat/completions", KEY, chat(5000, false));
    assertThat(tooLarge.statusCode()).isEqualTo(429);
    assertThat(json(tooLarge).at("/error/message").asText())
        .startsWith("Request too large for gpt-4o-mini")
        .contains("Limit 1000, Requested 5009");
    assertThat(json(tooLarge).at("/error/code").asText()).isEqualTo("rate_limit_exceeded");
  }

  @Test
  void statsCountWhatArrivedAndResetClearsThem() throws Exception {
    for (int i = 0; i < 3; i++) {
      http.post("/v1/chat/completions", KEY, chat(10, false));
    }
    KeyStats limited = server.stats().get(0);
    assertThat(limited.requests()).isEqualTo(3);
    assertThat(limited.accepted()).isEqualTo(2);
    assertThat(limited.succeeded()).isEqualTo(2);
    assertThat(limited.rateLimited()).isEqualTo(1);
    assertThat(limited.peakRequests60s()).isEqualTo(3);
    assertThat(limited.peakTokens60s()).isEqualTo(57);
    assertThat(limited.peakRequests1s()).isBetween(2L, 3L);
    assertThat(limited.promptTokens()).isEqualTo(18);

    JsonNode stats = json(http.get("/__stats", ""));
    assertThat(stats.at("/keys/0/name").asText()).isEqualTo("limited");
    assertThat(stats.at("/keys/0/rate_limited").asLong()).isEqualTo(1);
    assertThat(stats.at("/keys/0/peak_requests_60s").asLong()).isEqualTo(3);
    assertThat(stats.at("/keys/0/over_limit").asBoolean()).isTrue();
    assertThat(stats.at("/totals/any_over_limit").asBoolean()).isTrue();
    assertThat(stats.toString()).doesNotContain(KEY).doesNotContain(BIG);

    http.send("/__reset", "", "", java.time.Duration.ofSeconds(5));
    assertThat(server.stats().get(0).requests()).isZero();
    assertThat(http.post("/v1/chat/completions", KEY, chat(10, false)).statusCode()).isEqualTo(200);
  }

  @Test
  void chatStreamIsFramedAsServerSentEventsEndingWithUsageAndDone() throws Exception {
    List<String> lines = http.streamLines("/v1/chat/completions", BIG, chat(3, true));
    List<String> events = lines.stream().filter(l -> !l.isEmpty()).toList();
    assertThat(lines).allMatch(l -> l.isEmpty() || l.startsWith("data: "));
    // first chunk (role), 3 content chunks, finish chunk, usage chunk, [DONE]
    assertThat(events).hasSize(7);
    assertThat(events.getLast()).isEqualTo("data: [DONE]");
    JsonNode first = MockHttp.JSON.readTree(events.get(0).substring(6));
    assertThat(first.get("object").asText()).isEqualTo("chat.completion.chunk");
    assertThat(first.at("/choices/0/delta/role").asText()).isEqualTo("assistant");
    assertThat(first.get("usage").isNull()).isTrue();
    JsonNode finish = MockHttp.JSON.readTree(events.get(4).substring(6));
    assertThat(finish.at("/choices/0/finish_reason").asText()).isEqualTo("length");
    JsonNode usage = MockHttp.JSON.readTree(events.get(5).substring(6));
    assertThat(usage.get("choices")).isEmpty();
    assertThat(usage.at("/usage/completion_tokens").asInt()).isEqualTo(3);
    StringBuilder text = new StringBuilder();
    for (String event : events.subList(1, 4)) {
      text.append(
          MockHttp.JSON.readTree(event.substring(6)).at("/choices/0/delta/content").asText());
    }
    assertThat(text.toString()).isEqualTo("The quick answer");
    // Each event is followed by a blank line: the SSE frame separator.
    assertThat(lines).hasSize(events.size() * 2);
  }

  @Test
  void responsesStreamNamesItsEventsAndEndsWithResponseCompleted() throws Exception {
    List<String> lines =
        http.streamLines(
            "/v1/responses",
            BIG,
            "{\"model\":\"gpt-4o-mini\",\"input\":\"Hi\",\"max_output_tokens\":50,\"stream\":true}");
    List<String> names =
        lines.stream().filter(l -> l.startsWith("event: ")).map(l -> l.substring(7)).toList();
    assertThat(names)
        .startsWith(
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta")
        .endsWith(
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed");
    assertThat(names.stream().filter(n -> n.equals("response.output_text.delta"))).hasSize(5);
    assertThat(lines).doesNotContain("data: [DONE]");
    String last =
        lines.stream().filter(l -> l.startsWith("data: ")).reduce((a, b) -> b).orElseThrow();
    JsonNode completed = MockHttp.JSON.readTree(last.substring(6));
    assertThat(completed.at("/response/status").asText()).isEqualTo("completed");
    assertThat(completed.at("/response/usage/output_tokens").asInt()).isEqualTo(5);
    assertThat(completed.at("/response/output/0/content/0/text").asText())
        .isEqualTo("The quick answer is that");
  }

  @Test
  void legacyCompletionsAndResponsesAnswerInTheirShapes() throws Exception {
    JsonNode completion =
        json(
            http.post(
                "/v1/completions",
                BIG,
                "{\"model\":\"gpt-4o-mini\",\"prompt\":\"Say\",\"max_tokens\":2}"));
    assertThat(completion.get("object").asText()).isEqualTo("text_completion");
    assertThat(completion.at("/choices/0/text").asText()).isEqualTo("The quick");
    assertThat(completion.at("/usage/completion_tokens").asInt()).isEqualTo(2);

    JsonNode response =
        json(
            http.post(
                "/v1/responses",
                BIG,
                "{\"model\":\"gpt-4o-mini\",\"input\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));
    assertThat(response.get("object").asText()).isEqualTo("response");
    assertThat(response.at("/output/0/content/0/type").asText()).isEqualTo("output_text");
    assertThat(response.at("/usage/input_tokens").asInt()).isPositive();
  }

  @Test
  void embeddingsAreDeterministicUnitVectorsInFloatOrBase64() throws Exception {
    String body = "{\"model\":\"text-embedding-3-small\",\"input\":[\"alpha\",\"beta\",\"alpha\"]}";
    JsonNode first = json(http.post("/v1/embeddings", BIG, body));
    JsonNode again = json(http.post("/v1/embeddings", BIG, body));
    assertThat(first.get("data")).hasSize(3);
    assertThat(first.at("/data/2/index").asInt()).isEqualTo(2);
    assertThat(first.at("/data/0/embedding")).isEqualTo(first.at("/data/2/embedding"));
    assertThat(first.at("/data/0/embedding")).isNotEqualTo(first.at("/data/1/embedding"));
    assertThat(first.get("data")).isEqualTo(again.get("data"));
    double norm = 0;
    for (JsonNode v : first.at("/data/0/embedding")) {
      norm += v.asDouble() * v.asDouble();
    }
    assertThat(norm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
    assertThat(first.at("/usage/prompt_tokens").asInt()).isEqualTo(3);

    JsonNode base64 =
        json(
            http.post(
                "/v1/embeddings",
                BIG,
                "{\"model\":\"text-embedding-3-small\",\"input\":\"alpha\",\"encoding_format\":\"base64\",\"dimensions\":4}"));
    byte[] raw = Base64.getDecoder().decode(base64.at("/data/0/embedding").asText());
    assertThat(raw).hasSize(16);
    float x0 = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat(0);
    assertThat(x0).isEqualTo(Wire.vector("alpha", 4)[0]);
  }

  @Test
  void modelsAreListedAndLookedUp() throws Exception {
    JsonNode models = json(http.get("/v1/models", BIG));
    assertThat(models.get("object").asText()).isEqualTo("list");
    assertThat(models.findValuesAsText("id")).contains("gpt-4o-mini", "text-embedding-3-small");
    assertThat(json(http.get("/v1/models/gpt-4o", BIG)).get("object").asText()).isEqualTo("model");
    HttpResponse<String> missing = http.get("/v1/models/nope", BIG);
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(json(missing).at("/error/code").asText()).isEqualTo("model_not_found");
  }

  @Test
  void badRequestsGetOpenAiShapedErrors() throws Exception {
    record Case(String path, String key, String body, int status, String code, String message) {}
    List<Case> cases =
        List.of(
            new Case(
                "/v1/chat/completions",
                "",
                chat(1, false),
                401,
                "null",
                "You didn't provide an API key"),
            new Case(
                "/v1/chat/completions",
                "sk-nobody-123456",
                chat(1, false),
                401,
                "invalid_api_key",
                "Incorrect API key provided: sk-****3456"),
            new Case(
                "/v1/chat/completions",
                BIG,
                "{\"model\":",
                400,
                "null",
                "We could not parse the JSON body"),
            new Case(
                "/v1/chat/completions",
                BIG,
                "[1,2]",
                400,
                "invalid_type",
                "Invalid type for request body"),
            new Case(
                "/v1/chat/completions",
                BIG,
                "{\"messages\":[]}",
                400,
                "null",
                "you must provide a model parameter"),
            new Case(
                "/v1/chat/completions",
                BIG,
                "{\"model\":\"m\",\"messages\":[]}",
                400,
                "empty_array",
                "Invalid 'messages': empty array"),
            new Case(
                "/v1/chat/completions",
                BIG,
                "{\"model\":\"m\"}",
                400,
                "null",
                "'messages' is a required property"),
            new Case(
                "/v1/chat/completions",
                BIG,
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}",
                400,
                "integer_below_min_value",
                "Invalid 'max_tokens'"),
            new Case(
                "/v1/chat/completions",
                BIG,
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":\"9\"}",
                400,
                "invalid_type",
                "Invalid type for 'max_tokens'"),
            new Case(
                "/v1/embeddings",
                BIG,
                "{\"model\":\"m\",\"input\":[]}",
                400,
                "empty_array",
                "Invalid 'input'"),
            new Case("/v1/nope", BIG, "{}", 404, "null", "Invalid URL (POST /v1/nope)"));
    for (Case c : cases) {
      HttpResponse<String> response = http.post(c.path(), c.key(), c.body());
      assertThat(response.statusCode()).as(c.body()).isEqualTo(c.status());
      JsonNode error = json(response).get("error");
      assertThat(error.get("message").asText()).as(c.body()).startsWith(c.message());
      assertThat(error.get("code").asText()).as(c.body()).isEqualTo(c.code());
      assertThat(error.has("type") && error.has("param")).isTrue();
    }
    assertThat(server.stats().get(1).requests()).as("invalid requests are not counted").isZero();
  }

  @Test
  void azureStyleKeyHeaderAndDeploymentPathWork() throws Exception {
    var request =
        java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(
                    "http://127.0.0.1:"
                        + server.port()
                        + "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21"))
            .header("api-key", BIG)
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(chat(2, false)))
            .build();
    try (var client = java.net.http.HttpClient.newHttpClient()) {
      var response = client.send(request, HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
    }
  }

  @Test
  void limitsAndFaultsChangeAtRuntime() throws Exception {
    HttpResponse<String> changed =
        http.post("/__keys/limited", "", "{\"rpm\": 1, \"faults\": {\"500\": 1.0}}");
    assertThat(changed.statusCode()).isEqualTo(200);
    assertThat(http.post("/v1/chat/completions", KEY, chat(1, false)).statusCode()).isEqualTo(500);
    assertThat(http.post("/v1/chat/completions", KEY, chat(1, false)).statusCode()).isEqualTo(429);

    http.post("/__faults", "", "{\"503\": 1.0}");
    assertThat(http.post("/v1/chat/completions", BIG, chat(1, false)).statusCode()).isEqualTo(503);
    assertThat(http.post("/__keys/nobody", "", "{}").statusCode()).isEqualTo(404);
    assertThat(http.post("/__faults", "", "{\"boom\": 1}").statusCode()).isEqualTo(400);
    assertThat(server.keys().get(0).faults().rates()).isEqualTo(Map.of(FaultKind.ERROR_500, 1.0));
  }

  @Test
  void aDeadKeyOnItsOwnPortRefusesConnectionsUntilRevived() throws Exception {
    int port = MockHttp.freePort();
    try (MockServer withPort =
            MockServer.start(
                MockConfig.builder()
                    .port(0)
                    .latency(LatencyModel.ZERO)
                    .addKey(KeySpec.of("solo", KEY, 100, 100_000).withPort(port).withDead(true))
                    .build());
        MockHttp direct = new MockHttp("http://127.0.0.1:" + port);
        MockHttp control = new MockHttp(withPort)) {
      assertThatThrownBy(() -> direct.post("/v1/chat/completions", KEY, chat(1, false)))
          .isInstanceOf(ConnectException.class);

      control.post("/__keys/solo", "", "{\"dead\": false}");
      assertThat(direct.post("/v1/chat/completions", KEY, chat(1, false)).statusCode())
          .isEqualTo(200);

      control.post("/__keys/solo", "", "{\"dead\": true}");
      assertThatThrownBy(() -> direct.post("/v1/chat/completions", KEY, chat(1, false)))
          .isInstanceOf(ConnectException.class);
    }
  }
}
