package dev.penstock.server.pipeline;

import static dev.penstock.server.pipeline.ScriptedUpstream.firstByteTimeout;
import static dev.penstock.server.pipeline.ScriptedUpstream.json;
import static dev.penstock.server.pipeline.ScriptedUpstream.unreachable;
import static dev.penstock.server.pipeline.ScriptedUpstream.whole;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.telemetry.Outcome;
import dev.penstock.server.telemetry.RequestRecord;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The upstream stage's whole answers, through the pipeline: each way an attempt ends, what the
 * client gets, what the deployment's window and circuit are told, and that every reservation is
 * settled ({@link #everythingSettled}).
 */
class UpstreamStageTest {
  private static final String ANSWER =
      """
      {"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":\
      {"role":"assistant","content":"Hello"},"finish_reason":"stop"}],\
      "usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}""";

  private static final String SERVER_ERROR =
      "{\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}";

  private PipelineHarness h = new PipelineHarness(PipelineHarness.TWO_DEPLOYMENTS);

  @AfterEach
  void everythingSettled() {
    try {
      h.assertSettled();
    } finally {
      h.close();
    }
  }

  private void use(String yaml) {
    h.close();
    h = new PipelineHarness(yaml);
  }

  @Test
  void aWholeAnswerIsRelayedWithPenstocksHeadersAndItsUsageReconciled() {
    h.upstream.then(
        whole(
            200,
            Map.of(
                "Content-Type", "application/json",
                "openai-processing-ms", "42",
                "x-request-id", "up-1"),
            ANSWER));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(200);
    assertThat(client.streamed()).isFalse();
    assertThat(client.text()).isEqualTo(ANSWER);
    assertThat(client.answerHeaders())
        .containsEntry("x-request-id", "req_1")
        .containsEntry("x-penstock-deployment", "a")
        .containsEntry("x-penstock-attempts", "1")
        .containsEntry("x-penstock-queue-ms", "0")
        .containsEntry("Content-Type", "application/json")
        .containsEntry("openai-processing-ms", "42")
        .containsEntry("x-upstream-request-id", "up-1");
    ScriptedUpstream.Call call = h.upstream.calls().get(0);
    assertThat(call.uri()).isEqualTo("http://a.upstream.test/v1/chat/completions");
    assertThat(call.headers()).containsEntry("Authorization", "Bearer sk-test-a");
    assertThat(call.body()).contains("\"messages\"");
    assertThat(call.responseClosed()).isTrue();
    RequestRecord record = h.observer.only();
    assertThat(record.outcome()).isEqualTo(Outcome.OK);
    assertThat(record.promptTokens()).isEqualTo(9);
    assertThat(record.completionTokens()).isEqualTo(3);
    assertThat(h.windowTokens("a")).as("charged the real usage (tpm_charge: usage)").isEqualTo(12);
    assertThat(h.observer.events()).isEmpty();
  }

  @Test
  void a500IsRetriedOnTheOtherDeployment() {
    h.upstream.then(json(500, SERVER_ERROR), json(200, ANSWER));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(200);
    assertThat(client.answerHeaders())
        .containsEntry("x-penstock-deployment", "b")
        .containsEntry("x-penstock-attempts", "2");
    assertThat(h.upstream.deploymentsCalled()).containsExactly("a", "b");
    assertThat(h.upstream.calls()).allSatisfy(c -> assertThat(c.responseClosed()).isTrue());
    assertThat(h.observer.events()).containsExactly("retried a status_5xx");
    assertThat(h.consecutiveFailures("a")).isEqualTo(1);
    assertThat(h.consecutiveFailures("b")).isZero();
    assertThat(h.windowRequests("a")).as("a 500 reached the upstream: counted").isEqualTo(1);
    assertThat(h.observer.only().attempts()).isEqualTo(2);
  }

  @Test
  void theLast500IsPassedOnInOpenAisShapeWhenNoAttemptIsLeft() {
    h.upstream.then(json(503, SERVER_ERROR), whole(502, Map.of(), "<html>Bad gateway</html>"));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    // the last answer was not OpenAI-shaped: Penstock's own error, with the upstream's status
    assertThat(client.status()).isEqualTo(502);
    assertThat(client.json().at("/error/code").asText()).isEqualTo("upstream_error");
    assertThat(client.answerHeaders()).containsEntry("x-penstock-attempts", "2");
    assertThat(h.observer.only().outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
  }

  @Test
  void aRateLimit429RequeuesTheRequestAndCoolsTheDeploymentDownWithoutCountingAFailure()
      throws Exception {
    use(PipelineHarness.ONE_DEPLOYMENT);
    h.upstream.then(
        whole(
            429,
            Map.of("Content-Type", "application/json", "retry-after-ms", "1500"),
            "{\"error\":{\"message\":\"Rate limit reached for requests\","
                + "\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}"),
        json(200, ANSWER));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    PipelineHarness.Running running = h.start(client);
    PipelineHarness.await(() -> h.admissions.queued() == 1, "the request is requeued");

    assertThat(h.deployment("a").coolDownUntilNanos()).isEqualTo(Duration.ofMillis(1500).toNanos());
    assertThat(h.windowRequests("a")).as("a rate-limited request is uncounted").isZero();
    h.dispatchNow();
    assertThat(h.admissions.queued()).as("a is cooling down").isEqualTo(1);
    h.ticker.advance(Duration.ofMillis(1500));
    h.dispatchNow();
    running.join();

    assertThat(client.status()).isEqualTo(200);
    assertThat(client.answerHeaders())
        .containsEntry("x-penstock-attempts", "2")
        .containsEntry("x-penstock-queue-ms", "1500");
    assertThat(h.observer.events()).containsExactly("rate limited a");
    assertThat(h.consecutiveFailures("a")).as("a rate limit is not a failure").isZero();
    assertThat(h.observer.only().queueNanos()).isEqualTo(Duration.ofMillis(1500).toNanos());
  }

  @Test
  void insufficientQuotaDisablesTheDeploymentAndTheRequestIsServedElsewhere() throws Exception {
    h.upstream.then(
        json(
            429,
            "{\"error\":{\"message\":\"You exceeded your current quota\","
                + "\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}"),
        json(200, ANSWER));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    PipelineHarness.Running running = h.start(client);
    PipelineHarness.await(() -> h.admissions.queued() == 1, "the request is requeued");
    assertThat(h.deployment("a").disabledReason()).isEqualTo("insufficient_quota");
    h.dispatchNow();
    running.join();

    assertThat(client.status()).isEqualTo(200);
    assertThat(client.answerHeaders()).containsEntry("x-penstock-deployment", "b");
    assertThat(h.upstream.deploymentsCalled()).containsExactly("a", "b");
    assertThat(h.consecutiveFailures("a")).isZero();
    assertThat(h.observer.events()).containsExactly("rate limited a");
  }

  @Test
  void aRequestTooLargeForTheKeyIsTheClientsError400AndUncounted() {
    h.upstream.then(
        json(
            429,
            "{\"error\":{\"message\":\"Request too large for gpt-4o in organization org-x on"
                + " tokens per min (TPM): Limit 30000, Requested 50000.\",\"type\":\"tokens\","
                + "\"code\":\"rate_limit_exceeded\"}}"));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(400);
    JsonNode error = client.json().path("error");
    assertThat(error.path("code").asText()).isEqualTo("request_too_large");
    assertThat(error.path("message").asText()).startsWith("Request too large");
    assertThat(h.upstream.deploymentsCalled()).containsExactly("a");
    assertThat(h.windowRequests("a")).isZero();
    assertThat(h.consecutiveFailures("a")).isZero();
    assertThat(h.observer.only().outcome()).isEqualTo(Outcome.CLIENT_ERROR);
  }

  @Test
  void aFirstByteTimeoutIsNotRetriedByDefault() {
    h.upstream.then(firstByteTimeout());
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(504);
    assertThat(client.json().at("/error/code").asText()).isEqualTo("upstream_timeout");
    assertThat(client.json().at("/error/message").asText()).contains("first-byte timeout");
    assertThat(client.answerHeaders())
        .containsEntry("x-penstock-attempts", "1")
        .containsEntry("x-penstock-deployment", "a");
    assertThat(h.upstream.calls()).hasSize(1);
    assertThat(h.consecutiveFailures("a")).isEqualTo(1);
    assertThat(h.windowRequests("a")).as("the upstream may be generating: counted").isEqualTo(1);
    assertThat(h.observer.events()).isEmpty();
  }

  @Test
  void aFirstByteTimeoutIsRetriedWhenRetryOnTimeoutIsOn() {
    use(
        PipelineHarness.TWO_DEPLOYMENTS.replace(
            "  attempts: 2\n", "  attempts: 2\n  on_timeout: true\n"));
    h.upstream.then(firstByteTimeout(), json(200, ANSWER));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(200);
    assertThat(client.answerHeaders())
        .containsEntry("x-penstock-attempts", "2")
        .containsEntry("x-penstock-deployment", "b");
    assertThat(h.observer.events()).containsExactly("retried a timeout");
  }

  @Test
  void anUnreachableDeploymentIsRetriedAndItsWindowUncharged() {
    h.upstream.then(unreachable(), json(200, ANSWER));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(200);
    assertThat(client.answerHeaders()).containsEntry("x-penstock-attempts", "2");
    assertThat(h.upstream.deploymentsCalled()).containsExactly("a", "b");
    assertThat(h.observer.events()).containsExactly("retried a unreachable");
    assertThat(h.windowRequests("a")).as("never sent: not charged").isZero();
    assertThat(h.windowRequests("b")).isEqualTo(1);
  }

  @Test
  void anIoFailureBeforeTheAnswersHeadIsRetried() {
    h.upstream.then(
        ScriptedUpstream.throwing(new IOException("Connection reset")), json(200, ANSWER));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(200);
    assertThat(h.observer.events()).containsExactly("retried a broken");
    assertThat(h.windowRequests("a")).as("it may have reached the upstream").isEqualTo(1);
  }

  @Test
  void aRedirectIsNoAnswerButAFailedAttemptAndFinallyA502() {
    h.upstream.then(
        whole(302, Map.of("Location", "http://elsewhere.test/"), ""),
        whole(302, Map.of("Location", "http://elsewhere.test/"), ""));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(502);
    assertThat(client.json().at("/error/code").asText()).isEqualTo("upstream_invalid");
    assertThat(client.answerHeaders())
        .containsEntry("x-penstock-attempts", "2")
        .containsEntry("x-penstock-deployment", "b")
        .doesNotContainKey("Location");
    assertThat(h.upstream.calls()).allSatisfy(c -> assertThat(c.responseClosed()).isTrue());
    assertThat(h.observer.events()).containsExactly("retried a invalid_status");
    assertThat(h.consecutiveFailures("a")).isEqualTo(1);
    assertThat(h.consecutiveFailures("b")).isEqualTo(1);
  }

  @Test
  void aClientErrorFromTheUpstreamIsPassedThroughAndNotRetried() {
    String body =
        "{\"error\":{\"message\":\"Invalid value for 'temperature'\","
            + "\"type\":\"invalid_request_error\",\"param\":\"temperature\",\"code\":null}}";
    h.upstream.then(json(400, body));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(400);
    assertThat(client.text()).isEqualTo(body);
    assertThat(client.answerHeaders()).containsEntry("x-penstock-attempts", "1");
    assertThat(h.upstream.calls()).hasSize(1);
    assertThat(h.consecutiveFailures("a")).isZero();
    assertThat(h.observer.only().outcome()).isEqualTo(Outcome.CLIENT_ERROR);
  }

  @Test
  void aWholeAnswerThatIsNotJsonIsRetried() {
    h.upstream.then(json(200, "{\"id\":\"chatcmpl-1\",\"choi"), json(200, ANSWER));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(200);
    assertThat(client.text()).isEqualTo(ANSWER);
    assertThat(h.observer.events()).containsExactly("retried a malformed");
  }

  /**
   * The deadline bounds the wait to start, not an attempt: a request the scheduler admits at its
   * deadline (here, requeued after a 429, it starts exactly then) is sent. It once was refused with
   * a 504 when its thread woke a moment after the deadline — a request the pool had admitted.
   */
  @Test
  void aRequestAdmittedAtItsDeadlineIsSent() throws Exception {
    use(PipelineHarness.ONE_DEPLOYMENT);
    String rateLimited =
        "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\","
            + "\"code\":\"rate_limit_exceeded\"}}";
    h.upstream.then(
        whole(
            429,
            Map.of("Content-Type", "application/json", "retry-after-ms", "1000"),
            rateLimited));
    h.upstream.then(whole(200, Map.of("Content-Type", "application/json"), ANSWER));
    RecordingExchange client =
        RecordingExchange.chat("gpt-4o", false).header("x-penstock-timeout-ms", "1000");

    PipelineHarness.Running running = h.start(client);
    PipelineHarness.await(() -> h.admissions.queued() == 1, "the request is requeued");
    h.ticker.advance(Duration.ofSeconds(1));
    h.dispatchNow();
    h.ticker.advance(Duration.ofMillis(1)); // its thread wakes a moment after the deadline
    running.join();

    assertThat(h.upstream.calls()).hasSize(2);
    assertThat(client.status()).isEqualTo(200);
    assertThat(client.answerHeaders()).containsEntry("x-penstock-attempts", "2");
  }

  /**
   * An upstream header value with a bare CR once reached the HTTP server, which refused it:
   * Penstock's own 500 for an answer that was fine. Such a value is dropped.
   */
  @Test
  void anUpstreamHeaderWithAControlCharacterIsNotRelayed() {
    h.upstream.then(
        whole(
            200,
            Map.of(
                "Content-Type", "application/json",
                "openai-version", "2020-10-01\rX-Injected: yes",
                "x-request-id", "up\u0000-1"),
            ANSWER));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(200);
    assertThat(client.answerHeaders())
        .containsEntry("Content-Type", "application/json")
        .doesNotContainKeys("openai-version", "x-upstream-request-id");
  }

  /**
   * A 3 GB answer once ran the gateway out of memory (Penstock's own 500 and a leaked slot), and a
   * 200 MB one was read whole on each of three attempts. An answer over defaults.max_answer_bytes
   * is a failed attempt, not retried: 502, one upstream call, its connection closed.
   */
  @Test
  void anAnswerOverTheLimitIsA502AndNotRetried() {
    use("defaults: {max_answer_bytes: 1048576}\n" + PipelineHarness.TWO_DEPLOYMENTS);
    String huge = "{\"pad\":\"" + "x".repeat(1 << 21) + "\"}";
    h.upstream.then(whole(200, Map.of("Content-Type", "application/json"), huge));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(502);
    assertThat(client.text()).contains("upstream_answer_too_large").doesNotContain("xxxx");
    assertThat(h.upstream.calls()).hasSize(1);
    assertThat(h.upstream.calls().get(0).responseClosed()).isTrue();
  }

  /**
   * An upstream 401 that echoes the key (OpenAI's does, masked) was relayed to the client verbatim
   * while the logs redacted it. Every error an upstream sends through Penstock is redacted: the
   * configured keys and anything key-shaped.
   */
  @Test
  void anUpstreamErrorThatEchoesTheKeyReachesTheClientRedacted() {
    h.upstream.then(
        whole(
            401,
            Map.of("Content-Type", "application/json"),
            "{\"error\":{\"message\":\"Incorrect API key provided: sk-test-a. Also"
                + " sk-proj-****************wxyz.\",\"type\":\"invalid_request_error\","
                + "\"code\":\"invalid_api_key\"}}"));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(401);
    assertThat(client.text())
        .doesNotContain("sk-test-a", "wxyz")
        .contains("Incorrect API key provided: [redacted]", "invalid_api_key");
  }

  @Test
  void aFinalUpstreamFailureThatEchoesTheKeyIsRedacted() {
    for (int i = 0; i < 2; i++) {
      h.upstream.then(
          whole(
              500,
              Map.of("Content-Type", "application/json"),
              "{\"error\":{\"message\":\"upstream sk-test-b broke\",\"type\":\"server_error\"}}"));
    }
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(500);
    assertThat(client.text()).doesNotContain("sk-test-b").contains("[redacted]");
  }

  @Test
  void anErrorEventInAStreamIsRedactedAndTheRestUntouched() {
    String first =
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
            + "\"delta\":{\"content\":\"sk-looking text the model wrote\"}}]}\n\n";
    String error =
        "data: {\"error\":{\"message\":\"key sk-test-a revoked\",\"type\":\"server_error\"}}\n\n";
    h.upstream.then(ScriptedUpstream.sse(first, error));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", true);

    h.handle(client);

    assertThat(client.text())
        .as("a successful chunk is the client's data: untouched")
        .startsWith(first)
        .doesNotContain("sk-test-a")
        .contains("key [redacted] revoked");
  }
}
