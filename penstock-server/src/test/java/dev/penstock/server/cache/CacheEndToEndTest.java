package dev.penstock.server.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.core.http.HttpResponseFor;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.testing.GatewayFixture;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The response cache end to end (SPEC 5), with the official OpenAI SDK against the simulator: a
 * second identical deterministic request is a hit the simulator never sees; a hit is replayed
 * through the SDK's stream API (and a stored stream answers a whole request); the client's {@code
 * x-penstock-cache} directives; two keys never share entries; a hit is served while the only
 * deployment is disabled; the admin API shows and deletes entries; the ledger records what a hit
 * saved.
 */
class CacheEndToEndTest {
  private static final String ADMIN = "adm-cache-0123456789";
  private static final String KEY = "sk-up-cache-e2e";

  private GatewayFixture fixture;

  @BeforeEach
  void start() {
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(1, 0, 0))
            .outputTokens(12)
            .seed(7)
            .addKey(KeySpec.of("up", KEY, 100_000, 100_000_000))
            .build();
    String yaml =
        """
        listen: 127.0.0.1:0
        admin_key: %3$s
        models:
          gpt-4o-mini:
            deployments:
              - {name: up, base_url: "%1$s", api_key: "%2$s", rpm: 100000, tpm: 100000000}
        pricing:
          gpt-4o-mini: {input_per_1m: 1000, output_per_1m: 2000}
        """
            .formatted("${MOCK}", KEY, ADMIN);
    fixture = GatewayFixture.start(simulator, yaml);
  }

  @AfterEach
  void stop() {
    if (fixture != null) {
      fixture.close();
    }
  }

  @Test
  void theSecondIdenticalDeterministicRequestIsAHitTheUpstreamNeverSees() throws Exception {
    Raw first = raw(deterministic("Hello"));
    assertThat(first.cache()).isEqualTo("miss");
    Raw second = raw(deterministic("Hello"));
    assertThat(second.cache()).isEqualTo("hit");
    assertThat(second.attempts()).isEqualTo("0");
    assertThat(second.completion().choices().getFirst().message().content())
        .isEqualTo(first.completion().choices().getFirst().message().content());
    assertThat(second.completion().id()).isEqualTo(first.completion().id());
    assertThat(upstreamRequests()).isEqualTo(1);

    // Not deterministic (no temperature 0, no seed): never looked up.
    Raw loose =
        raw(
            ChatCompletionCreateParams.builder()
                .model("gpt-4o-mini")
                .addUserMessage("Hello")
                .build());
    assertThat(loose.cache()).isEqualTo("bypass");
    // The same request with a seed is another key; the key ignores user and stream_options.
    assertThat(header(chatBody("Hello", ", \"seed\": 3"), Map.of())).isEqualTo("miss");
    assertThat(header(chatBody("Hello", ", \"seed\": 3, \"user\": \"u-1\""), Map.of()))
        .isEqualTo("hit");
    assertThat(upstreamRequests()).isEqualTo(3);

    JsonNode stats = admin("GET", "/admin/cache");
    assertThat(stats.path("entries").asLong()).isEqualTo(2);
    assertThat(stats.path("hits").asLong()).isEqualTo(2);
    assertThat(stats.path("misses").asLong()).isEqualTo(2);
    assertThat(stats.path("bypasses").asLong()).isEqualTo(1);
    assertThat(stats.path("saved_tokens").asLong()).isPositive();
    assertThat(stats.path("saved_usd").asDouble()).isPositive();
    assertThat(stats.path("bytes").asLong()).isPositive();
  }

  @Test
  void aHitIsReplayedThroughTheSdkStreamAndAStoredStreamAnswersAWholeRequest() throws Exception {
    ChatCompletion whole = fixture.sdk().chat().completions().create(deterministic("Stream me"));
    String expected = whole.choices().getFirst().message().content().orElseThrow();

    ChatCompletionCreateParams streamed =
        deterministic("Stream me").toBuilder()
            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
            .build();
    List<ChatCompletionChunk> chunks;
    try (StreamResponse<ChatCompletionChunk> stream =
        fixture.sdk().chat().completions().createStreaming(streamed)) {
      chunks = stream.stream().toList();
    }
    String replayed =
        chunks.stream()
            .flatMap(c -> c.choices().stream())
            .map(c -> c.delta().content().orElse(""))
            .collect(Collectors.joining());
    assertThat(replayed).isEqualTo(expected);
    assertThat(chunks.getLast().usage()).isPresent();
    assertThat(chunks.getLast().usage().orElseThrow().totalTokens())
        .isEqualTo(whole.usage().orElseThrow().totalTokens());
    assertThat(chunks.stream().flatMap(c -> c.choices().stream()))
        .anySatisfy(c -> assertThat(c.finishReason()).isPresent());

    // The other way round: a stream's answer, stored, answers the whole request.
    String live;
    try (StreamResponse<ChatCompletionChunk> stream =
        fixture.sdk().chat().completions().createStreaming(deterministic("Stream first"))) {
      live =
          stream.stream()
              .flatMap(c -> c.choices().stream())
              .map(c -> c.delta().content().orElse(""))
              .collect(Collectors.joining());
    }
    Raw fromStream = raw(deterministic("Stream first"));
    assertThat(fromStream.cache()).isEqualTo("hit");
    assertThat(fromStream.completion().choices().getFirst().message().content()).contains(live);
    assertThat(fromStream.completion().usage()).isPresent();
    assertThat(upstreamRequests()).isEqualTo(2);
  }

  @Test
  void aResponsesAnswerIsReplayedThroughTheSdkStream() {
    ResponseCreateParams params =
        ResponseCreateParams.builder()
            .model("gpt-4o-mini")
            .input("Tell me")
            .temperature(0.0)
            .build();
    Response whole = fixture.sdk().responses().create(params);
    StringBuilder text = new StringBuilder();
    Response[] completed = new Response[1];
    try (StreamResponse<ResponseStreamEvent> stream =
        fixture.sdk().responses().createStreaming(params)) {
      stream.stream()
          .forEach(
              e -> {
                e.outputTextDelta().ifPresent(d -> text.append(d.delta()));
                e.completed().ifPresent(c -> completed[0] = c.response());
              });
    }
    assertThat(completed[0]).isNotNull();
    assertThat(completed[0].id()).isEqualTo(whole.id());
    assertThat(text.toString()).isNotEmpty().isEqualTo(outputText(whole));
    assertThat(upstreamRequests()).isEqualTo(1);
  }

  @Test
  void theClientsDirectivesAreHonoured() throws Exception {
    String body = chatBody("Directives", ", \"temperature\": 0");
    assertThat(header(body, Map.of("x-penstock-cache", "no-store"))).isEqualTo("bypass");
    assertThat(header(body, Map.of())).isEqualTo("miss"); // no-store stored nothing
    assertThat(header(body, Map.of("x-penstock-cache", "no-cache"))).isEqualTo("miss");
    assertThat(header(body, Map.of())).isEqualTo("hit");
    assertThat(upstreamRequests()).isEqualTo(3);

    String loose = chatBody("Creative", "");
    assertThat(header(loose, Map.of("x-penstock-cache", "force"))).isEqualTo("miss");
    assertThat(header(loose, Map.of("x-penstock-cache", "force"))).isEqualTo("hit");
    assertThat(header(loose, Map.of())).isEqualTo("bypass");
    assertThat(upstreamRequests()).isEqualTo(5);

    HttpResponse<String> garbage =
        fixture.post("/v1/chat/completions", body, Map.of("x-penstock-cache", "maybe"));
    assertThat(garbage.statusCode()).isEqualTo(400);
    assertThat(garbage.body()).contains("x-penstock-cache");
  }

  @Test
  void twoKeysNeverShareEntriesAndAHitNeedsNoCapacity() throws Exception {
    String a = createKey("team-a");
    String b = createKey("team-b");
    String body = chatBody("Shared question", ", \"temperature\": 0");
    assertThat(header(body, bearer(a))).isEqualTo("miss");
    assertThat(header(body, bearer(b))).isEqualTo("miss");
    assertThat(header(body, bearer(a))).isEqualTo("hit");
    assertThat(header(body, bearer(b))).isEqualTo("hit");
    assertThat(upstreamRequests()).isEqualTo(2);

    // With its only deployment disabled, the pool has no capacity at all: hits still answer.
    assertThat(adminCall("POST", "/admin/deployments/up/disable").statusCode()).isEqualTo(200);
    assertThat(header(body, bearer(a))).isEqualTo("hit");
    HttpResponse<String> miss =
        fixture.post("/v1/chat/completions", chatBody("New one", ", \"seed\": 1"), bearer(a));
    assertThat(miss.statusCode()).isNotEqualTo(200);
    assertThat(adminCall("POST", "/admin/deployments/up/enable").statusCode()).isEqualTo(200);

    // Deleting one key's entries leaves the other's.
    JsonNode deleted = admin("DELETE", "/admin/cache?key=team-a");
    assertThat(deleted.path("deleted").asLong()).isEqualTo(1);
    assertThat(header(body, bearer(a))).isEqualTo("miss");
    assertThat(header(body, bearer(b))).isEqualTo("hit");
    assertThat(admin("DELETE", "/admin/cache?model=gpt-4o-mini").path("deleted").asLong())
        .isEqualTo(2);
    assertThat(admin("DELETE", "/admin/cache").path("deleted").asLong()).isZero();
    assertThat(adminCall("DELETE", "/admin/cache?key=nobody").statusCode()).isEqualTo(404);
  }

  @Test
  void theLedgerSaysWhatAHitSaved() throws Exception {
    String body = chatBody("Ledger", ", \"temperature\": 0");
    assertThat(header(body, Map.of())).isEqualTo("miss");
    assertThat(header(body, Map.of())).isEqualTo("hit");
    fixture
        .awaitIdle(); // the second request's record reaches the ledger as it ends, after its answer
    fixture.gateway().tenants().writer().flush(Duration.ofSeconds(10));
    List<dev.penstock.server.tenant.UsageRow> rows =
        fixture
            .gateway()
            .tenants()
            .ledger()
            .report(0, Long.MAX_VALUE, dev.penstock.server.tenant.LedgerRepository.GroupBy.MODEL);
    assertThat(rows).hasSize(1);
    // Two requests; only the miss used tokens and cost money.
    assertThat(rows.getFirst().requests()).isEqualTo(2);
    JsonNode stats = admin("GET", "/admin/cache");
    assertThat(stats.path("saved_usd").asDouble())
        .isCloseTo(rows.getFirst().costUsd(), org.assertj.core.data.Offset.offset(1e-9));
  }

  // ---- helpers

  /** A chat answer with the headers the tests look at. */
  private record Raw(String cache, String attempts, ChatCompletion completion) {}

  private Raw raw(ChatCompletionCreateParams params) {
    try (HttpResponseFor<ChatCompletion> r =
        fixture.sdk().chat().completions().withRawResponse().create(params)) {
      return new Raw(
          r.headers().values("x-penstock-cache").getFirst(),
          r.headers().values("x-penstock-attempts").getFirst(),
          r.parse());
    }
  }

  private static ChatCompletionCreateParams deterministic(String prompt) {
    return ChatCompletionCreateParams.builder()
        .model("gpt-4o-mini")
        .addUserMessage(prompt)
        .temperature(0.0)
        .build();
  }

  private static String chatBody(String prompt, String extra) {
    return "{\"model\": \"gpt-4o-mini\", \"messages\": [{\"role\": \"user\", \"content\": \""
        + prompt
        + "\"}]"
        + extra
        + "}";
  }

  private String header(String body, Map<String, String> headers) throws Exception {
    HttpResponse<String> r = fixture.post("/v1/chat/completions", body, headers);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r.headers().firstValue("x-penstock-cache").orElse("");
  }

  private static Map<String, String> bearer(String key) {
    return Map.of("Authorization", "Bearer " + key);
  }

  private long upstreamRequests() {
    return fixture.mock().stats().stream().mapToLong(KeyStats::requests).sum();
  }

  private String createKey(String name) throws Exception {
    HttpResponse<String> r = adminCall("POST", "/admin/keys", "{\"name\": \"" + name + "\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return RequestReader.JSON.readTree(r.body()).path("key").asText();
  }

  private JsonNode admin(String method, String path) throws Exception {
    HttpResponse<String> r = adminCall(method, path);
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isEqualTo(200);
    return RequestReader.JSON.readTree(r.body());
  }

  private HttpResponse<String> adminCall(String method, String path) throws Exception {
    return adminCall(method, path, null);
  }

  private HttpResponse<String> adminCall(String method, String path, String body) throws Exception {
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
    return fixture.http().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String outputText(Response response) {
    return response.output().stream()
        .flatMap(o -> o.message().stream())
        .flatMap(m -> m.content().stream())
        .flatMap(c -> c.outputText().stream())
        .map(t -> t.text())
        .collect(Collectors.joining());
  }
}
