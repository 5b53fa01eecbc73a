package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.mock.FaultKind;
import dev.penstock.mock.FaultRates;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.testing.GatewayFixture;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What every answer tells the client (SPEC 2): the proxied ones — successes and Penstock's own
 * refusals alike — carry {@code x-request-id}, {@code x-penstock-attempts} and {@code
 * x-penstock-queue-ms} (a {@code 429}/{@code 503} also {@code Retry-After}), every other route at
 * least {@code x-request-id}. And timeouts that fit LLMs (SPEC 4): a model that thinks long before
 * its first byte is waited for, and a request that timed out after reaching its upstream is not
 * sent again (the upstream may still be generating, and would bill twice) unless the operator opts
 * in with {@code retry.on_timeout}.
 */
class AnswerHeadersAndTimeoutsEndToEndTest {
  private static final String CHAT =
      "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":5}";

  private GatewayFixture fixture;

  @AfterEach
  void stop() {
    if (fixture != null) {
      fixture.close(); // fails the test if it left anything behind
    }
  }

  private void start(MockConfig.Builder simulator, String yaml) {
    fixture = GatewayFixture.start(simulator.port(0).outputTokens(8).seed(3).build(), yaml);
  }

  private static KeySpec key(String name) {
    return KeySpec.of(name, "sk-up-" + name + "-0001", 1_000_000, 1_000_000_000);
  }

  private static KeySpec hanging(String name) {
    return key(name).withFaults(new FaultRates(Map.of(FaultKind.HANG, 1.0)));
  }

  private HttpResponse<String> chat(String model, Map<String, String> headers) throws Exception {
    return fixture.post("/v1/chat/completions", CHAT.formatted(model), headers);
  }

  @Test
  void everyAnswerCarriesItsRequestIdAndPenstocksOwnErrorsTheirAttemptsAndQueueTime()
      throws Exception {
    start(
        MockConfig.builder().latency(LatencyModel.ZERO).addKey(key("a")).addKey(key("b")),
        """
        listen: 127.0.0.1:0
        models:
          gpt-4o-mini:
            deployments:
              - {name: a, base_url: "${MOCK}", api_key: sk-up-a-0001, rpm: 1000000, tpm: 1000000000}
          gpt-tiny:
            deployments:
              - {name: tiny, base_url: "${MOCK}", api_key: sk-up-b-0001, rpm: 1, tpm: 1000000}
        """);

    HttpResponse<String> ok = chat("gpt-4o-mini", Map.of());
    assertProxied(ok, 200);
    assertThat(ok.headers().firstValue("x-penstock-deployment")).hasValue("a");
    assertThat(ok.headers().firstValue("x-penstock-attempts")).hasValue("1");
    HttpResponse<String> streamed =
        fixture.post(
            "/v1/chat/completions",
            CHAT.formatted("gpt-4o-mini").replace("}]", "}],\"stream\":true"),
            Map.of());
    assertProxied(streamed, 200);
    assertThat(streamed.headers().firstValue("x-penstock-deployment")).hasValue("a");

    assertProxied(fixture.post("/v1/chat/completions", "{nope", Map.of()), 400);
    assertProxied(chat("no-such-model", Map.of()), 404);

    // One request a minute: the first takes the slot; the next cannot start within its 5 s and is
    // refused at once, not when its deadline passes.
    assertProxied(chat("gpt-tiny", Map.of()), 200);
    long refusing = System.nanoTime();
    HttpResponse<String> overloaded = chat("gpt-tiny", Map.of("x-penstock-timeout-ms", "5000"));
    assertThat(Duration.ofNanos(System.nanoTime() - refusing)).isLessThan(Duration.ofSeconds(2));
    assertProxied(overloaded, 429);
    assertThat(errorOf(overloaded).path("type").asText()).isEqualTo("penstock_overloaded");
    assertThat(overloaded.headers().firstValue("retry-after")).isPresent();

    for (String name : new String[] {"a", "tiny"}) {
      HttpResponse<String> disabled =
          fixture.post("/admin/deployments/" + name + "/disable", "", Map.of());
      assertThat(disabled.statusCode()).as(disabled.body()).isEqualTo(200);
      assertThat(disabled.headers().firstValue("x-request-id")).isPresent();
    }
    HttpResponse<String> none = chat("gpt-4o-mini", Map.of());
    assertProxied(none, 503);
    assertThat(errorOf(none).path("code").asText()).isEqualTo("no_deployment");
    assertThat(none.headers().firstValue("retry-after")).isPresent();

    assertRequestId(fixture.get("/health/live", Map.of()), 200);
    assertRequestId(fixture.get("/nope", Map.of()), 404);
    assertRequestId(fixture.get("/v1/models", Map.of()), 200);

    fixture.gateway().drain();
    HttpResponse<String> shuttingDown = chat("gpt-4o-mini", Map.of());
    assertProxied(shuttingDown, 503);
    assertThat(errorOf(shuttingDown).path("code").asText()).isEqualTo("shutting_down");
    assertThat(shuttingDown.headers().firstValue("retry-after")).isPresent();
    assertThat(fixture.mock().stats().get(0).requests()).isEqualTo(2);
  }

  @Test
  void anUpstreamThatThinksLongerThanTheReadTimeoutButAnswersBeforeTheFirstByteTimeoutSucceeds()
      throws Exception {
    start(
        MockConfig.builder().latency(new LatencyModel(1500, 0, 0)).addKey(key("a")),
        """
        listen: 127.0.0.1:0
        models:
          gpt-4o-mini:
            deployments:
              - {name: a, base_url: "${MOCK}", api_key: sk-up-a-0001, rpm: 1000000, tpm: 1000000000,
                 read_timeout_ms: 500, first_byte_timeout_ms: 10000}
        """);
    long start = System.nanoTime();
    HttpResponse<String> answer = chat("gpt-4o-mini", Map.of());
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("the upstream thought for 1.5 s, three read timeouts")
        .isGreaterThanOrEqualTo(Duration.ofMillis(1500));
    assertThat(answer.headers().firstValue("x-penstock-attempts")).hasValue("1");
    assertThat(fixture.mock().stats().getFirst().requests()).isEqualTo(1);
  }

  @Test
  void aRequestThatTimedOutAtItsUpstreamIsNotSentAgainByDefault() throws Exception {
    start(
        MockConfig.builder().latency(LatencyModel.ZERO).hangMillis(30_000).addKey(hanging("hang")),
        """
        listen: 127.0.0.1:0
        models:
          gpt-4o-mini:
            deployments:
              - {name: hang, base_url: "${MOCK}", api_key: sk-up-hang-0001, rpm: 1000000,
                 tpm: 1000000000, first_byte_timeout_ms: 500}
        """);
    long start = System.nanoTime();
    HttpResponse<String> answer = chat("gpt-4o-mini", Map.of());
    assertProxied(answer, 504);
    assertThat(errorOf(answer).path("code").asText()).isEqualTo("upstream_timeout");
    assertThat(answer.headers().firstValue("x-penstock-attempts")).hasValue("1");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    assertThat(fixture.mock().stats().getFirst().requests())
        .as("the simulator saw the request once")
        .isEqualTo(1);
  }

  @Test
  void withRetryOnTimeoutARequestThatTimedOutGoesOnToAnotherDeployment() throws Exception {
    start(
        MockConfig.builder()
            .latency(LatencyModel.ZERO)
            .hangMillis(30_000)
            .addKey(hanging("hang"))
            .addKey(key("good")),
        """
        listen: 127.0.0.1:0
        retry: {on_timeout: true, backoff_base_ms: 10, backoff_cap_ms: 20}
        models:
          gpt-4o-mini:
            deployments:
              - {name: hang, base_url: "${MOCK}", api_key: sk-up-hang-0001, rpm: 1000000,
                 tpm: 1000000000, first_byte_timeout_ms: 500}
              - {name: good, base_url: "${MOCK}", api_key: sk-up-good-0001, rpm: 1000000,
                 tpm: 1000000000, priority: 1}
        """);
    HttpResponse<String> answer = chat("gpt-4o-mini", Map.of());
    assertProxied(answer, 200);
    assertThat(answer.headers().firstValue("x-penstock-deployment")).hasValue("good");
    assertThat(answer.headers().firstValue("x-penstock-attempts")).hasValue("2");
    assertThat(fixture.mock().stats())
        .extracting(KeyStats::name, KeyStats::requests)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("hang", 1L),
            org.assertj.core.groups.Tuple.tuple("good", 1L));
  }

  /** A proxied answer's status and the headers every proxied answer carries, each exactly once. */
  private static void assertProxied(HttpResponse<String> answer, int status) {
    assertRequestId(answer, status);
    for (String header : new String[] {"x-penstock-attempts", "x-penstock-queue-ms"}) {
      assertThat(answer.headers().allValues(header))
          .as(header + " of a " + status)
          .singleElement()
          .satisfies(value -> assertThat(value).containsOnlyDigits());
    }
    assertThat(answer.headers().allValues("x-penstock-cache"))
        .as("x-penstock-cache of a " + status)
        .containsExactly("bypass");
  }

  private static void assertRequestId(HttpResponse<String> answer, int status) {
    String what = answer.request().method() + " " + answer.request().uri().getPath();
    assertThat(answer.statusCode()).as(what + ": " + answer.body()).isEqualTo(status);
    assertThat(answer.headers().allValues("x-request-id"))
        .as("x-request-id of " + what)
        .singleElement()
        .satisfies(id -> assertThat(id).matches("req_[0-9a-f]{32}"));
  }

  private static JsonNode errorOf(HttpResponse<String> answer) throws Exception {
    return RequestReader.JSON.readTree(answer.body()).path("error");
  }
}
