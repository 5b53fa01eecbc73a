package dev.penstock.mock;

import static dev.penstock.mock.MockHttp.apiKey;
import static dev.penstock.mock.MockHttp.bearer;
import static dev.penstock.mock.MockHttp.chat;
import static dev.penstock.mock.MockHttp.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Azure OpenAI's URL shapes and credentials over real sockets: the classic deployment URLs and
 * Responses URL with their required {@code api-version}, the v1 API, the {@code api-key} header,
 * and Azure's own wording for the errors its front door answers.
 */
class AzureSurfaceTest {
  private static final String KEY = "sk-test-azure-limited-1";
  private static final String BIG = "sk-test-azure-big-00002";
  private static final String GA = "?api-version=2024-10-21";
  private static final String PREVIEW = "?api-version=2025-04-01-preview";
  private static final String UUID =
      "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
  private static final String NOT_FOUND =
      "{\"error\":{\"code\":\"404\",\"message\":\"Resource not found\"}}";

  private MockServer server;
  private MockHttp http;

  @BeforeEach
  void start() {
    server =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(LatencyModel.ZERO)
                .outputTokens(5)
                .embeddingDimensions(4)
                .addKey(KeySpec.of("limited", KEY, 2, 100_000))
                .addKey(KeySpec.of("big", BIG, 100_000, 10_000_000))
                .build());
    http = new MockHttp(server);
  }

  @AfterEach
  void stop() {
    http.close();
    server.close();
  }

  private static String messages(String extra) {
    return "{"
        + extra
        + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}],\"max_tokens\":3}";
  }

  @Test
  void everyAzureShapeAnswersWithTheDeploymentItNames() throws Exception {
    record Case(String path, String body, String object, String model) {}
    List<Case> cases =
        List.of(
            // Classic URLs: the deployment in the path answers; the body needs no model and any
            // model it names is ignored.
            new Case(
                "/openai/deployments/dep-chat/chat/completions" + GA,
                messages(""),
                "chat.completion",
                "dep-chat"),
            new Case(
                "/openai/deployments/dep-chat/chat/completions" + GA,
                messages("\"model\":\"something-else\","),
                "chat.completion",
                "dep-chat"),
            new Case(
                "/openai/deployments/dep-instruct/completions" + GA,
                "{\"prompt\":\"Say\",\"max_tokens\":2}",
                "text_completion",
                "dep-instruct"),
            new Case(
                "/openai/deployments/dep-embed/embeddings" + GA,
                "{\"input\":\"alpha\"}",
                "list",
                "dep-embed"),
            // Responses: the body's model is the deployment.
            new Case(
                "/openai/responses" + PREVIEW,
                "{\"model\":\"dep-resp\",\"input\":\"Hi\"}",
                "response",
                "dep-resp"),
            new Case(
                "/openai/deployments/dep-resp/responses" + PREVIEW,
                "{\"model\":\"something-else\",\"input\":\"Hi\"}",
                "response",
                "dep-resp"),
            new Case(
                "/openai/v1/responses",
                "{\"model\":\"dep-v1\",\"input\":\"Hi\"}",
                "response",
                "dep-v1"),
            new Case(
                "/openai/v1/responses?api-version=preview",
                "{\"model\":\"dep-v1\",\"input\":\"Hi\"}",
                "response",
                "dep-v1"),
            new Case(
                "/openai/v1/chat/completions",
                messages("\"model\":\"dep-v1-chat\","),
                "chat.completion",
                "dep-v1-chat"),
            new Case(
                "/openai/v1/embeddings",
                "{\"model\":\"dep-v1-embed\",\"input\":[\"a\",\"b\"]}",
                "list",
                "dep-v1-embed"));
    for (Case c : cases) {
      HttpResponse<String> response = http.exchange("POST", c.path(), apiKey(BIG), c.body());
      assertThat(response.statusCode()).as(c.path()).isEqualTo(200);
      JsonNode body = json(response);
      assertThat(body.get("object").asText()).as(c.path()).isEqualTo(c.object());
      assertThat(body.get("model").asText()).as(c.path()).isEqualTo(c.model());
      assertThat(response.headers().firstValue("apim-request-id").orElseThrow()).matches(UUID);
      assertThat(response.headers().firstValue("x-ratelimit-limit-requests")).hasValue("100000");
    }
    assertThat(server.stats().get(1).succeeded()).isEqualTo(cases.size());
  }

  @Test
  void aKeyInTheApiKeyHeaderIsTheSameKeyWithTheSameLimitsAsABearerKey() throws Exception {
    String azure = "/openai/deployments/dep/chat/completions" + GA;
    HttpResponse<String> first = http.exchange("POST", azure, apiKey(KEY), messages(""));
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("1");
    HttpResponse<String> second = http.post("/v1/chat/completions", KEY, chat(3, false));
    assertThat(second.statusCode()).isEqualTo(200);
    assertThat(second.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");

    assertThat(http.exchange("POST", azure, apiKey(KEY), messages("")).statusCode()).isEqualTo(429);
    // An Entra token travels as a Bearer on Azure's URLs: the same key, the same window.
    assertThat(
            http.exchange(
                    "POST",
                    "/openai/v1/chat/completions",
                    bearer(KEY),
                    messages("\"model\":\"dep\","))
                .statusCode())
        .isEqualTo(429);
    KeyStats limited = server.stats().getFirst();
    assertThat(limited.requests()).isEqualTo(4);
    assertThat(limited.accepted()).isEqualTo(2);
    assertThat(limited.rateLimited()).isEqualTo(2);
  }

  @Test
  void aMissingApiVersionIsAzuresResourceNotFoundAndIsNotCounted() throws Exception {
    record Case(String method, String path, String body) {}
    List<Case> cases = new ArrayList<>();
    for (String query : List.of("", "?api-version=", "?api_version=2024-10-21")) {
      cases.add(new Case("POST", "/openai/deployments/d/chat/completions" + query, messages("")));
      cases.add(
          new Case("POST", "/openai/deployments/d/completions" + query, "{\"prompt\":\"x\"}"));
      cases.add(new Case("POST", "/openai/deployments/d/embeddings" + query, "{\"input\":\"x\"}"));
      cases.add(new Case("POST", "/openai/responses" + query, "{\"model\":\"d\",\"input\":\"x\"}"));
      cases.add(new Case("POST", "/openai/deployments/d/responses" + query, "{\"input\":\"x\"}"));
      cases.add(new Case("GET", "/openai/models" + query, ""));
    }
    for (Case c : cases) {
      HttpResponse<String> response = http.exchange(c.method(), c.path(), apiKey(BIG), c.body());
      assertThat(response.statusCode()).as(c.path()).isEqualTo(404);
      assertThat(json(response)).as(c.path()).isEqualTo(MockHttp.JSON.readTree(NOT_FOUND));
    }
    // Even a wrong key gets the 404: the URL is resolved before the credential is looked at.
    assertThat(
            http.exchange("POST", "/openai/responses", apiKey("sk-wrong-0000"), "{}").statusCode())
        .isEqualTo(404);
    assertThat(server.stats().get(1).requests()).as("never reached the limiter").isZero();

    // The v1 API needs no api-version.
    assertThat(
            http.exchange(
                    "POST",
                    "/openai/v1/responses",
                    apiKey(BIG),
                    "{\"model\":\"d\",\"input\":\"x\"}")
                .statusCode())
        .isEqualTo(200);
  }

  @Test
  void azureUrlsRefuseAWrongOrMissingKeyInAzuresWords() throws Exception {
    String denied =
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide"
            + " a valid key for an active subscription and use a correct regional API endpoint for"
            + " your resource.";
    List<HttpResponse<String>> refused =
        List.of(
            http.exchange(
                "POST",
                "/openai/deployments/d/chat/completions" + GA,
                Map.of("Content-Type", "application/json"),
                messages("")),
            http.exchange(
                "POST", "/openai/deployments/d/embeddings" + GA, apiKey("sk-nobody-1234"), "{}"),
            http.exchange("POST", "/openai/v1/responses", bearer("entra-token-for-nobody"), "{}"),
            http.exchange("GET", "/openai/v1/models", apiKey("sk-nobody-1234"), ""));
    for (HttpResponse<String> response : refused) {
      assertThat(response.statusCode()).isEqualTo(401);
      JsonNode error = json(response).get("error");
      assertThat(error.get("code").asText()).isEqualTo("401");
      assertThat(error.get("message").asText()).isEqualTo(denied);
      assertThat(error.size()).as("Azure's shape: code and message only").isEqualTo(2);
    }
    // OpenAI's URLs keep OpenAI's wording, whichever header carried the key.
    HttpResponse<String> openAi =
        http.exchange("POST", "/v1/chat/completions", apiKey("sk-nobody-1234"), chat(1, false));
    assertThat(json(openAi).at("/error/code").asText()).isEqualTo("invalid_api_key");
  }

  @Test
  void urlsAzureDoesNotServeAreResourceNotFound() throws Exception {
    // Azure's v1 API has no legacy completions.
    for (String path :
        List.of(
            "/openai/v1/completions",
            "/openai/deployments/d/chat/completion" + GA,
            "/openai/nothing")) {
      HttpResponse<String> response = http.exchange("POST", path, apiKey(BIG), messages(""));
      assertThat(response.statusCode()).as(path).isEqualTo(404);
      assertThat(json(response)).as(path).isEqualTo(MockHttp.JSON.readTree(NOT_FOUND));
    }
  }

  @Test
  void azureListsTheModelsUnderBothApiGenerations() throws Exception {
    JsonNode classic = json(http.exchange("GET", "/openai/models" + GA, apiKey(BIG), ""));
    assertThat(classic.get("object").asText()).isEqualTo("list");
    assertThat(classic.findValuesAsText("id")).contains("gpt-4o-mini");
    JsonNode v1 = json(http.exchange("GET", "/openai/v1/models", apiKey(BIG), ""));
    assertThat(v1.get("data")).isEqualTo(classic.get("data"));
    HttpResponse<String> one = http.exchange("GET", "/openai/v1/models/gpt-4o", bearer(BIG), "");
    assertThat(json(one).get("id").asText()).isEqualTo("gpt-4o");
    HttpResponse<String> missing =
        http.exchange("GET", "/openai/models/nope" + GA, apiKey(BIG), "");
    assertThat(missing.statusCode()).isEqualTo(404);
  }

  @Test
  void chatStreamsOnAzureUrlsExactlyAsOnOpenAis() throws Exception {
    String body =
        "{\"model\":\"dep-a\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
            + "\"max_tokens\":3,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
    List<String> openAi = normalised(http.streamLines("/v1/chat/completions", bearer(BIG), body));
    List<String> classic =
        normalised(
            http.streamLines("/openai/deployments/dep-a/chat/completions" + GA, apiKey(BIG), body));
    List<String> v1 =
        normalised(http.streamLines("/openai/v1/chat/completions", apiKey(BIG), body));

    assertThat(classic).isEqualTo(openAi);
    assertThat(v1).isEqualTo(openAi);
    assertThat(openAi.getLast()).isEqualTo("data: [DONE]");
    JsonNode usage = MockHttp.JSON.readTree(openAi.get(openAi.size() - 2).substring(6));
    assertThat(usage.at("/usage/completion_tokens").asInt()).isEqualTo(3);
    assertThat(usage.get("model").asText()).isEqualTo("dep-a");
  }

  @Test
  void responsesStreamOnAzureUrlsExactlyAsOnOpenAis() throws Exception {
    String body = "{\"model\":\"dep-r\",\"input\":\"Hi\",\"max_output_tokens\":50,\"stream\":true}";
    List<String> openAi = normalised(http.streamLines("/v1/responses", bearer(BIG), body));
    List<String> classic =
        normalised(http.streamLines("/openai/responses" + PREVIEW, apiKey(BIG), body));
    List<String> v1 = normalised(http.streamLines("/openai/v1/responses", apiKey(BIG), body));
    List<String> deployment =
        normalised(
            http.streamLines("/openai/deployments/dep-r/responses" + PREVIEW, apiKey(BIG), body));

    assertThat(classic).isEqualTo(openAi);
    assertThat(v1).isEqualTo(openAi);
    assertThat(deployment).isEqualTo(openAi);
    assertThat(openAi).contains("event: response.output_text.delta").doesNotContain("data: [DONE]");
    assertThat(openAi.get(openAi.size() - 2)).isEqualTo("event: response.completed");
    JsonNode completed = MockHttp.JSON.readTree(openAi.getLast().substring(6));
    assertThat(completed.at("/response/usage/output_tokens").asInt()).isEqualTo(5);
    assertThat(completed.at("/response/model").asText()).isEqualTo("dep-r");
  }

  /** A stream's non-blank lines with ids and timestamps removed, so two streams can be compared. */
  private static List<String> normalised(List<String> lines) throws Exception {
    List<String> kept = new ArrayList<>();
    for (String line : lines) {
      if (line.startsWith("data: {")) {
        JsonNode event = MockHttp.JSON.readTree(line.substring(6));
        strip(event);
        kept.add("data: " + event);
      } else if (!line.isBlank()) {
        kept.add(line);
      }
    }
    return kept;
  }

  private static void strip(JsonNode node) {
    if (node instanceof ObjectNode object) {
      object.remove(List.of("id", "item_id", "created", "created_at"));
    }
    node.forEach(AzureSurfaceTest::strip);
  }
}
