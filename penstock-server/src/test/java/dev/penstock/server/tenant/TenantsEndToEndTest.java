package dev.penstock.server.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.PermissionDeniedException;
import com.openai.errors.RateLimitException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Penstock as a team's shared gateway (SPEC 8), end to end with the official OpenAI SDK against the
 * simulator: keys made through the admin API authenticate; no, unknown and revoked keys get {@code
 * AuthenticationError}; a key over its RPM gets a {@code 429} whose headers let the SDK's own retry
 * succeed; over budget, {@code budget_exceeded}; a model the key may not use, {@code 403}; and the
 * usage report equals what the simulator counted.
 */
class TenantsEndToEndTest {
  private static final String ADMIN = "adm-e2e-0123456789";
  private static final String MINI_KEY = "sk-up-mini-e2e";
  private static final String BIG_KEY = "sk-up-big-e2e";

  private GatewayFixture fixture;

  @BeforeEach
  void start() {
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(2, 0, 0))
            .outputTokens(10)
            .seed(5)
            .addKey(KeySpec.of("mini", MINI_KEY, 100_000, 100_000_000))
            .addKey(KeySpec.of("big", BIG_KEY, 100_000, 100_000_000))
            .build();
    String yaml =
        """
        listen: 127.0.0.1:0
        admin_key: %4$s
        models:
          gpt-4o-mini:
            deployments:
              - {name: mini, base_url: "%1$s", api_key: "%2$s", rpm: 100000, tpm: 100000000}
          gpt-4o:
            deployments:
              - {name: big, base_url: "%1$s", api_key: "%3$s", rpm: 100000, tpm: 100000000}
        pricing:
          gpt-4o-mini: {input_per_1m: 1000, output_per_1m: 2000}
        """
            .formatted("${MOCK}", MINI_KEY, BIG_KEY, ADMIN);
    // A key's window is two seconds here, so that a retry after its 429 comes within the test.
    fixture = GatewayFixture.start(simulator, yaml, b -> b.keyWindow(Duration.ofSeconds(2)));
  }

  @AfterEach
  void stop() {
    if (fixture != null) {
      fixture.close(); // fails the test if a reservation or a budget hold was left open
    }
  }

  @Test
  void openModeLastsUntilTheFirstKeyThenEveryRequestNeedsALiveOne() throws Exception {
    assertThat(chat(null, "gpt-4o-mini").statusCode()).isEqualTo(200);

    JsonNode created = admin("POST", "/admin/keys", "{\"name\": \"search-service\"}");
    String key = created.path("key").asText();
    assertThat(key).startsWith("pk-").hasSizeGreaterThan(40);
    assertThat(created.path("suffix").asText()).isEqualTo(key.substring(key.length() - 4));

    HttpResponse<String> none = chat(null, "gpt-4o-mini");
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(error(none).path("code").asText()).isEqualTo("invalid_api_key");
    assertThatThrownBy(
            () ->
                sdk("pk-not-a-real-key-00000000000000000000000")
                    .chat()
                    .completions()
                    .create(params("gpt-4o-mini")))
        .isInstanceOf(UnauthorizedException.class);
    assertThat(fixture.get("/v1/models", Map.of()).statusCode()).isEqualTo(401);
    assertThat(fixture.get("/v1/models", Map.of("Authorization", "Bearer " + key)).statusCode())
        .isEqualTo(200);

    ChatCompletion ok = sdk(key).chat().completions().create(params("gpt-4o-mini"));
    assertThat(ok.choices()).isNotEmpty();
    // Azure-style clients send the key as api-key.
    assertThat(chatWith(Map.of("api-key", key), "gpt-4o-mini").statusCode()).isEqualTo(200);

    JsonNode revoked = admin("DELETE", "/admin/keys/" + created.path("id").asText(), null);
    assertThat(revoked.path("state").asText()).isEqualTo("revoked");
    assertThatThrownBy(() -> sdk(key).chat().completions().create(params("gpt-4o-mini")))
        .isInstanceOf(UnauthorizedException.class);
  }

  @Test
  void theKeyIsShownOnceAndNeverAgain() throws Exception {
    JsonNode created =
        admin("POST", "/admin/keys", "{\"name\": \"once\", \"metadata\": {\"team\": \"ml\"}}");
    String key = created.path("key").asText();
    String id = created.path("id").asText();
    String list = raw("GET", "/admin/keys", null, ADMIN).body();
    String show = raw("GET", "/admin/keys/" + id, null, ADMIN).body();
    for (String body : List.of(list, show)) {
      assertThat(body).contains(id).contains("\"team\":\"ml\"").doesNotContain(key);
      assertThat(body).doesNotContain(key.substring(3, 20)).doesNotContain("hash");
    }
    assertThat(RequestReader.JSON.readTree(show).has("key")).isFalse();
  }

  @Test
  void badAdminInputIsRefusedNamingTheField() throws Exception {
    assertThat(raw("GET", "/admin/keys", null, "wrong-admin-key").statusCode()).isEqualTo(401);
    assertThat(raw("GET", "/admin/keys", null, null).statusCode()).isEqualTo(401);
    Map<String, String> cases = new HashMap<>();
    cases.put("{\"rpm\": 5}", "name");
    cases.put("{\"name\": \"x\", \"rpm\": -1}", "rpm");
    cases.put("{\"name\": \"x\", \"tpm\": 1.5}", "tpm");
    cases.put("{\"name\": \"x\", \"budget_usd_daily\": -3}", "budget_usd_daily");
    cases.put("{\"name\": \"x\", \"max_priority\": \"urgent\"}", "max_priority");
    cases.put("{\"name\": \"x\", \"colour\": \"red\"}", "colour");
    cases.put("{\"name\": \"x\", \"models\": \"gpt-4o\"}", "models");
    cases.put("{\"name\": \"x\", \"expires_at\": \"yesterday\"}", "expires_at");
    cases.put("{\"name\": \"x\", \"expires_at\": \"2001-01-01T00:00:00Z\"}", "expires_at");
    cases.put("{\"name\": \"x\", \"metadata\": {\"k\": 5}}", "metadata");
    cases.put("{\"name\": \"x\", \"metadata\": {\"k\": \"" + "v".repeat(600) + "\"}}", "metadata");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      HttpResponse<String> r = raw("POST", "/admin/keys", c.getKey(), ADMIN);
      assertThat(r.statusCode()).as(c.getKey()).isEqualTo(400);
      assertThat(error(r).path("param").asText()).as(c.getKey()).isEqualTo(c.getValue());
    }
    assertThat(raw("POST", "/admin/keys", "{not json", ADMIN).statusCode()).isEqualTo(400);
    assertThat(raw("POST", "/admin/keys", "[1,2]", ADMIN).statusCode()).isEqualTo(400);
    String huge = "{\"name\": \"x\", \"metadata\": {\"k\": \"" + "v".repeat(100_000) + "\"}}";
    assertThat(raw("POST", "/admin/keys", huge, ADMIN).statusCode()).isEqualTo(413);
    assertThat(raw("PATCH", "/admin/keys/key_nope", "{\"rpm\": 1}", ADMIN).statusCode())
        .isEqualTo(404);
    assertThat(raw("GET", "/admin/usage?group_by=colour", null, ADMIN).statusCode()).isEqualTo(400);
    assertThat(raw("GET", "/admin/usage?from=notadate", null, ADMIN).statusCode()).isEqualTo(400);
    assertThat(admin("GET", "/admin/keys", null).path("data")).isEmpty();
  }

  @Test
  void aKeyOverItsRpmIsToldWhenToRetryAndTheSdksOwnRetrySucceeds() throws Exception {
    JsonNode created = admin("POST", "/admin/keys", "{\"name\": \"slow\", \"rpm\": 1}");
    String key = created.path("key").asText();

    HttpResponse<String> first = chat(key, "gpt-4o-mini");
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.headers().firstValue("x-ratelimit-limit-requests")).hasValue("1");
    assertThat(first.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");

    HttpResponse<String> second = chat(key, "gpt-4o-mini");
    assertThat(second.statusCode()).isEqualTo(429);
    assertThat(error(second).path("code").asText()).isEqualTo("rate_limit_exceeded");
    long retryMillis = Long.parseLong(second.headers().firstValue("retry-after-ms").orElseThrow());
    assertThat(retryMillis).isBetween(1L, 2_000L);
    assertThat(second.headers().firstValue("Retry-After")).isPresent();
    assertThat(second.headers().firstValue("x-ratelimit-reset-requests")).isPresent();
    assertThat(second.headers().firstValue("x-penstock-attempts")).hasValue("0");

    // The SDK waits as it is told, and its retry gets through.
    OpenAIClient retrying =
        OpenAIOkHttpClient.builder()
            .baseUrl(fixture.baseUrl())
            .apiKey(key)
            .maxRetries(3)
            .timeout(Duration.ofSeconds(30))
            .build();
    try {
      assertThat(retrying.chat().completions().create(params("gpt-4o-mini")).choices())
          .isNotEmpty();
    } finally {
      retrying.close();
    }

    // A change of limit applies at once.
    admin("PATCH", "/admin/keys/" + created.path("id").asText(), "{\"rpm\": 0}");
    assertThat(chat(key, "gpt-4o-mini").statusCode()).isEqualTo(200);
  }

  @Test
  void aKeyOverItsBudgetIsRefusedWithBudgetExceeded() throws Exception {
    // $1000 per 1M input tokens: one request costs a few cents, over this budget.
    JsonNode created =
        admin("POST", "/admin/keys", "{\"name\": \"thrifty\", \"budget_usd_daily\": 0.001}");
    String key = created.path("key").asText();
    assertThat(chat(key, "gpt-4o-mini").statusCode()).isEqualTo(200);

    HttpResponse<String> over = chat(key, "gpt-4o-mini");
    assertThat(over.statusCode()).isEqualTo(429);
    assertThat(error(over).path("type").asText()).isEqualTo("budget_exceeded");
    assertThat(over.headers().firstValue("x-should-retry")).hasValue("false");
    assertThatThrownBy(() -> sdk(key).chat().completions().create(params("gpt-4o-mini")))
        .isInstanceOf(RateLimitException.class);

    JsonNode shown = admin("GET", "/admin/keys/" + created.path("id").asText(), null);
    assertThat(shown.path("spend_usd_today").asDouble()).isGreaterThan(0.001);
    // Raising the budget lets it through again, at once.
    admin("PATCH", "/admin/keys/" + created.path("id").asText(), "{\"budget_usd_daily\": 100}");
    assertThat(chat(key, "gpt-4o-mini").statusCode()).isEqualTo(200);
  }

  @Test
  void aModelTheKeyMayNotUseIsForbidden() throws Exception {
    String key =
        admin("POST", "/admin/keys", "{\"name\": \"mini-only\", \"models\": [\"gpt-4o-mini\"]}")
            .path("key")
            .asText();
    assertThat(chat(key, "gpt-4o-mini").statusCode()).isEqualTo(200);
    HttpResponse<String> forbidden = chat(key, "gpt-4o");
    assertThat(forbidden.statusCode()).isEqualTo(403);
    assertThat(error(forbidden).path("param").asText()).isEqualTo("model");
    assertThatThrownBy(() -> sdk(key).chat().completions().create(params("gpt-4o")))
        .isInstanceOf(PermissionDeniedException.class);
  }

  @Test
  void usageByKeyAndModelEqualsWhatTheSimulatorCounted() throws Exception {
    String a = admin("POST", "/admin/keys", "{\"name\": \"a\"}").path("key").asText();
    JsonNode createdB = admin("POST", "/admin/keys", "{\"name\": \"b\"}");
    String b = createdB.path("key").asText();
    for (int i = 0; i < 7; i++) {
      assertThat(chat(a, "gpt-4o-mini").statusCode()).isEqualTo(200);
    }
    for (int i = 0; i < 4; i++) {
      assertThat(chat(b, i % 2 == 0 ? "gpt-4o-mini" : "gpt-4o").statusCode()).isEqualTo(200);
    }
    for (int i = 0; i < 3; i++) {
      assertThat(streamedChat(b, "gpt-4o").statusCode()).isEqualTo(200);
    }
    fixture.awaitIdle();

    Map<String, KeyStats> simulator = new HashMap<>();
    fixture.mock().stats().forEach(s -> simulator.put(s.name(), s));
    JsonNode byModel = admin("GET", "/admin/usage?group_by=model", null).path("data");
    assertThat(byModel).hasSize(2);
    for (JsonNode row : byModel) {
      KeyStats counted =
          simulator.get(row.path("group").asText().equals("gpt-4o") ? "big" : "mini");
      assertThat(row.path("requests").asLong()).isEqualTo(counted.succeeded());
      assertThat(row.path("input_tokens").asLong()).isEqualTo(counted.promptTokens());
      assertThat(row.path("output_tokens").asLong()).isEqualTo(counted.completionTokens());
    }
    JsonNode mini =
        byModel.get(0).path("group").asText().equals("gpt-4o-mini")
            ? byModel.get(0)
            : byModel.get(1);
    KeyStats miniCounted = simulator.get("mini");
    double expected =
        (miniCounted.promptTokens() * 1000.0 + miniCounted.completionTokens() * 2000.0) / 1e6;
    assertThat(mini.path("cost_usd").asDouble())
        .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-9));

    JsonNode byKey = admin("GET", "/admin/usage?group_by=key", null).path("data");
    Map<String, Long> requests = new HashMap<>();
    byKey.forEach(r -> requests.put(r.path("name").asText(), r.path("requests").asLong()));
    assertThat(requests).containsEntry("a", 7L).containsEntry("b", 7L);
    assertThat(
            admin("GET", "/admin/keys/" + createdB.path("id").asText(), null)
                .path("spend_usd_today")
                .asDouble())
        .isGreaterThan(0);
  }

  @Test
  void aCanarySendsTheSameKeysToTheSameSideEveryTime() throws Exception {
    fixture.restart(
        """
        listen: 127.0.0.1:0
        admin_key: %4$s
        models:
          gpt-4o-mini:
            canary: {model: gpt-4o, percent: 50}
            deployments:
              - {name: mini, base_url: "%1$s", api_key: "%2$s", rpm: 100000, tpm: 100000000}
          gpt-4o:
            deployments:
              - {name: big, base_url: "%1$s", api_key: "%3$s", rpm: 100000, tpm: 100000000}
        """
            .formatted("${MOCK}", MINI_KEY, BIG_KEY, ADMIN));
    Map<String, Integer> sides = new HashMap<>();
    for (int k = 0; k < 12; k++) {
      String key = admin("POST", "/admin/keys", "{\"name\": \"k" + k + "\"}").path("key").asText();
      String side = null;
      for (int i = 0; i < 3; i++) {
        HttpResponse<String> r = chat(key, "gpt-4o-mini");
        assertThat(r.statusCode()).isEqualTo(200);
        String deployment = r.headers().firstValue("x-penstock-deployment").orElseThrow();
        assertThat(side == null || side.equals(deployment)).as("key %d is sticky", k).isTrue();
        side = deployment;
      }
      sides.merge(side, 1, Integer::sum);
    }
    assertThat(sides.keySet()).containsExactlyInAnyOrder("mini", "big");
  }

  @Test
  void aClientThatLeavesGivesBackItsBudgetHoldAndItsKeysCharge() throws Exception {
    // A slow upstream (3 s to the first token), and clients that give up after 300 ms: one whose
    // request is with the upstream, one whose request waits in the queue behind it (rpm 1).
    try (GatewayFixture slow =
        GatewayFixture.start(
            MockConfig.builder()
                .port(0)
                .latency(new LatencyModel(3_000, 0, 0))
                .outputTokens(5)
                .addKey(KeySpec.of("slow", MINI_KEY, 100_000, 100_000_000))
                .build(),
            """
            listen: 127.0.0.1:0
            admin_key: %3$s
            models:
              gpt-4o-mini:
                deployments:
                  - {name: slow, base_url: "%1$s", api_key: "%2$s", rpm: 1, tpm: 100000000}
            """
                .formatted("${MOCK}", MINI_KEY, ADMIN))) {
      HttpResponse<String> created =
          slow.post(
              "/admin/keys",
              "{\"name\": \"leaver\", \"rpm\": 10, \"budget_usd_daily\": 5}",
              Map.of("Authorization", "Bearer " + ADMIN, "Content-Type", "application/json"));
      String key = RequestReader.JSON.readTree(created.body()).path("key").asText();
      for (int i = 0; i < 2; i++) {
        HttpRequest request =
            HttpRequest.newBuilder(URI.create(slow.root() + "/v1/chat/completions"))
                .timeout(Duration.ofMillis(300))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .header("x-penstock-timeout-ms", "120000") // the second one may wait its turn
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"model\": \"gpt-4o-mini\", \"messages\": [{\"role\": \"user\","
                            + " \"content\": \"Hi\"}]}"))
                .build();
        assertThatThrownBy(() -> slow.http().send(request, HttpResponse.BodyHandlers.ofString()))
            .isInstanceOf(java.net.http.HttpTimeoutException.class);
      }
      // Both requests end (the queued one withdrawn, the other's upstream call closed): no budget
      // hold and no reservation is left open — close() checks it — and the queued request, which
      // never reached the upstream, gave its charge of the key's RPM back.
      slow.awaitIdle();
      assertThat(slow.gateway().tenants().allowances().openHolds()).isZero();
      String id = RequestReader.JSON.readTree(created.body()).path("id").asText();
      long now = slow.gateway().admissions().ticker().nanos();
      assertThat(slow.gateway().tenants().allowances().windowRequests(id, now)).isEqualTo(1);
    }
  }

  // ---- helpers

  private OpenAIClient sdk(String key) {
    return OpenAIOkHttpClient.builder()
        .baseUrl(fixture.baseUrl())
        .apiKey(key)
        .maxRetries(0)
        .timeout(Duration.ofSeconds(30))
        .build();
  }

  private static ChatCompletionCreateParams params(String model) {
    return ChatCompletionCreateParams.builder().model(model).addUserMessage("Hello there").build();
  }

  private HttpResponse<String> chat(String key, String model) throws Exception {
    return chatWith(key == null ? Map.of() : Map.of("Authorization", "Bearer " + key), model);
  }

  private HttpResponse<String> chatWith(Map<String, String> headers, String model)
      throws Exception {
    Map<String, String> all = new HashMap<>(headers);
    all.put("Content-Type", "application/json");
    return fixture.post(
        "/v1/chat/completions",
        "{\"model\": \"" + model + "\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}",
        all);
  }

  private HttpResponse<String> streamedChat(String key, String model) throws Exception {
    return fixture.post(
        "/v1/chat/completions",
        "{\"model\": \""
            + model
            + "\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}",
        Map.of("Authorization", "Bearer " + key, "Content-Type", "application/json"));
  }

  private JsonNode admin(String method, String path, String body) throws Exception {
    HttpResponse<String> r = raw(method, path, body, ADMIN);
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isBetween(200, 201);
    return RequestReader.JSON.readTree(r.body());
  }

  private HttpResponse<String> raw(String method, String path, String body, String adminKey)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(fixture.root() + path))
            .timeout(Duration.ofSeconds(30))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (adminKey != null) {
      request.header("Authorization", "Bearer " + adminKey);
    }
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    return fixture.http().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode error(HttpResponse<String> r) throws Exception {
    return RequestReader.JSON.readTree(r.body()).path("error");
  }
}
