package dev.penstock.server.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.core.http.HttpResponseFor;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The semantic cache end to end, with the real embedding model (penstock-semantic) and the official
 * OpenAI SDK: a paraphrase is a semantic hit with its score; an opposite, a different number, a
 * different system prompt or another key is not.
 */
class SemanticCacheEndToEndTest {
  private static final String ADMIN = "adm-semantic-0123456789";
  private static final String KEY = "sk-up-semantic";

  private static GatewayFixture fixture;

  @BeforeAll
  static void start() {
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(1, 0, 0))
            .outputTokens(8)
            .seed(11)
            .addKey(KeySpec.of("up", KEY, 100_000, 100_000_000))
            .build();
    fixture =
        GatewayFixture.start(
            simulator,
            """
            listen: 127.0.0.1:0
            admin_key: %3$s
            models:
              gpt-4o-mini:
                cache: {semantic: true, semantic_threshold: 0.9}
                deployments:
                  - {name: up, base_url: "%1$s", api_key: "%2$s", rpm: 100000, tpm: 100000000}
              gpt-4o:
                deployments:
                  - {name: big, base_url: "%1$s", api_key: "%2$s", rpm: 100000, tpm: 100000000}
            """
                .formatted("${MOCK}", KEY, ADMIN));
  }

  @AfterAll
  static void stop() {
    if (fixture != null) {
      fixture.close();
    }
  }

  @Test
  void aParaphraseIsASemanticHitWithItsScore() throws Exception {
    assertThat(ask("gpt-4o-mini", null, "what is the meaning of life").cache()).isEqualTo("miss");
    Answer paraphrase = ask("gpt-4o-mini", null, "what's the meaning of life");
    assertThat(paraphrase.cache()).isEqualTo("semantic-hit");
    assertThat(Double.parseDouble(paraphrase.score())).isBetween(0.9, 1.0);
    assertThat(paraphrase.content())
        .isEqualTo(ask("gpt-4o-mini", null, "what is the meaning of life").content());
    JsonNode stats = admin("/admin/cache");
    assertThat(stats.path("semantic_hits").asLong()).isEqualTo(1);
    assertThat(stats.path("semantic").path("entries").asLong()).isPositive();
  }

  @Test
  void oppositesNumbersOtherHistoryAndOtherModelsNeverHit() throws Exception {
    long before = upstreamRequests();
    assertThat(ask("gpt-4o-mini", null, "is it safe to take ibuprofen with alcohol").cache())
        .isEqualTo("miss");
    assertThat(ask("gpt-4o-mini", null, "is it unsafe to take ibuprofen with alcohol").cache())
        .isEqualTo("miss");
    assertThat(ask("gpt-4o-mini", null, "what is 17*23").cache()).isEqualTo("miss");
    assertThat(ask("gpt-4o-mini", null, "what is 17*24").cache()).isEqualTo("miss");
    // The same question under another system prompt is another conversation.
    assertThat(ask("gpt-4o-mini", "Answer as a pirate.", "what is 17*23").cache())
        .isEqualTo("miss");
    // A model without semantic caching only ever hits exactly.
    assertThat(ask("gpt-4o", null, "how do I reverse a list in python").cache()).isEqualTo("miss");
    assertThat(ask("gpt-4o", null, "how can I reverse a python list").cache()).isEqualTo("miss");
    assertThat(upstreamRequests() - before).isEqualTo(7);
  }

  // ---- helpers

  private record Answer(String cache, String score, String content) {}

  private static Answer ask(String model, String system, String prompt) {
    ChatCompletionCreateParams.Builder params =
        ChatCompletionCreateParams.builder().model(model).temperature(0.0);
    if (system != null) {
      params.addSystemMessage(system);
    }
    try (HttpResponseFor<ChatCompletion> r =
        fixture
            .sdk()
            .chat()
            .completions()
            .withRawResponse()
            .create(params.addUserMessage(prompt).build())) {
      return new Answer(
          r.headers().values("x-penstock-cache").getFirst(),
          r.headers().values("x-penstock-cache-score").stream().findFirst().orElse(""),
          r.parse().choices().getFirst().message().content().orElse(""));
    }
  }

  private static long upstreamRequests() {
    return fixture.mock().stats().stream().mapToLong(KeyStats::requests).sum();
  }

  private static JsonNode admin(String path) throws Exception {
    HttpResponse<String> r =
        fixture
            .http()
            .send(
                HttpRequest.newBuilder(URI.create(fixture.root() + path))
                    .timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + ADMIN)
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return RequestReader.JSON.readTree(r.body());
  }
}
