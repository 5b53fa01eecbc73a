package dev.penstock.server.pipeline;

import static dev.penstock.server.pipeline.ScriptedUpstream.json;
import static dev.penstock.server.pipeline.ScriptedUpstream.sse;
import static dev.penstock.server.pipeline.ScriptedUpstream.sseBreaking;
import static dev.penstock.server.pipeline.ScriptedUpstream.unreachable;
import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.server.telemetry.RequestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The cache stage with a scripted upstream: only complete {@code 200}s are stored — not an error,
 * not a stream cut short — and a hit is answered without an attempt, while the upstream could not
 * answer at all.
 */
class CacheStageTest {
  private static final String BODY =
      "{\"model\":\"gpt-4o\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  private static final String STREAMED =
      "{\"model\":\"gpt-4o\",\"temperature\":0,\"stream\":true,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  private static final String ANSWER =
      "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o\","
          + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},"
          + "\"finish_reason\":\"stop\"}],"
          + "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}";

  private final PipelineHarness h = new PipelineHarness(PipelineHarness.TWO_DEPLOYMENTS, true);

  @AfterEach
  void everythingSettled() {
    try {
      h.assertSettled();
    } finally {
      h.close();
    }
  }

  @Test
  void aHitNeedsNoUpstreamAtAll() {
    h.upstream.then(json(200, ANSWER), unreachable(), unreachable(), unreachable());
    RecordingExchange first = RecordingExchange.of(BODY);
    h.handle(first);
    assertThat(first.answerHeaders()).containsEntry("x-penstock-cache", "miss");

    RecordingExchange second = RecordingExchange.of(BODY);
    h.handle(second);
    assertThat(second.status()).isEqualTo(200);
    assertThat(second.text()).isEqualTo(ANSWER);
    assertThat(second.answerHeaders())
        .containsEntry("x-penstock-cache", "hit")
        .containsEntry("x-penstock-attempts", "0")
        .containsEntry("Content-Type", "application/json")
        .doesNotContainKey("x-penstock-deployment");
    assertThat(h.upstream.calls()).hasSize(1);
    RequestRecord hit = h.observer.completed().get(1);
    assertThat(hit.cache()).isEqualTo("hit");
    assertThat(hit.savedTokens()).isEqualTo(11);
    assertThat(hit.attempts()).isZero();
    assertThat(hit.promptTokens()).isNegative(); // nothing spent

    // The same answer replayed as a stream, from the same entry.
    RecordingExchange streamed = RecordingExchange.of(STREAMED);
    h.handle(streamed);
    assertThat(streamed.streamed()).isTrue();
    assertThat(streamed.text()).contains("\"content\":\"Hello\"").endsWith("data: [DONE]\n\n");
    assertThat(h.upstream.calls()).hasSize(1);
  }

  @Test
  void anErrorIsNotStored() {
    h.upstream.then(
        json(400, "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\"}}"),
        json(200, ANSWER));
    RecordingExchange failed = RecordingExchange.of(BODY);
    h.handle(failed);
    assertThat(failed.status()).isEqualTo(400);
    RecordingExchange next = RecordingExchange.of(BODY);
    h.handle(next);
    assertThat(next.answerHeaders()).containsEntry("x-penstock-cache", "miss");
    assertThat(h.upstream.calls()).hasSize(2);
  }

  @Test
  void aStreamCutShortIsNotStoredAndAWholeOneIs() {
    h.upstream.then(
        sseBreaking(StreamRelayTest.HEL),
        sse(StreamRelayTest.HEL, StreamRelayTest.LO, StreamRelayTest.USAGE, StreamRelayTest.DONE));
    RecordingExchange cut = RecordingExchange.of(STREAMED);
    h.handle(cut);
    assertThat(cut.text()).contains("stream_incomplete");

    RecordingExchange whole = RecordingExchange.of(STREAMED);
    h.handle(whole);
    assertThat(whole.answerHeaders()).containsEntry("x-penstock-cache", "miss");

    RecordingExchange asWhole = RecordingExchange.of(BODY);
    h.handle(asWhole);
    assertThat(asWhole.answerHeaders()).containsEntry("x-penstock-cache", "hit");
    assertThat(asWhole.json().path("choices").get(0).path("message").path("content").asText())
        .isEqualTo("Hello");
    assertThat(asWhole.json().path("usage").path("total_tokens").asLong()).isEqualTo(11);
    assertThat(h.upstream.calls()).hasSize(2);
  }

  @Test
  void anEmbeddingsHitForARequestThatSaysStreamIsSentWhole() throws InterruptedException {
    String answer =
        "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
            + "\"embedding\":[0.5,0.25]}],\"model\":\"gpt-4o\","
            + "\"usage\":{\"prompt_tokens\":2,\"total_tokens\":2}}";
    h.upstream.then(json(200, answer));
    RecordingExchange first =
        RecordingExchange.of("{\"model\":\"gpt-4o\",\"input\":\"hi\"}")
            .header("x-penstock-cache", "force");
    // The miss goes through the embedding batch window (20 ms on the harness's fake clock).
    PipelineHarness.Running miss = h.start(dev.penstock.server.openai.Endpoint.EMBEDDINGS, first);
    PipelineHarness.await(() -> h.batchClock.parked() == 1, "the batch waits for its window");
    h.batchClock.advance(java.time.Duration.ofMillis(20));
    miss.join();
    assertThat(first.answerHeaders()).containsEntry("x-penstock-cache", "miss");

    RecordingExchange streamed =
        RecordingExchange.of("{\"model\":\"gpt-4o\",\"input\":\"hi\",\"stream\":true}")
            .header("x-penstock-cache", "force");
    h.handle(dev.penstock.server.openai.Endpoint.EMBEDDINGS, streamed);
    assertThat(streamed.status()).isEqualTo(200);
    assertThat(streamed.streamed()).isFalse();
    assertThat(streamed.text()).isEqualTo(answer);
    assertThat(streamed.answerHeaders()).containsEntry("x-penstock-cache", "hit");
  }
}
