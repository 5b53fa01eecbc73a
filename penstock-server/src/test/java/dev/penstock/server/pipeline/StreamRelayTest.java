package dev.penstock.server.pipeline;

import static dev.penstock.server.pipeline.ScriptedUpstream.sse;
import static dev.penstock.server.pipeline.ScriptedUpstream.sseBreaking;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.telemetry.Outcome;
import dev.penstock.server.telemetry.RequestRecord;
import dev.penstock.server.upstream.UpstreamClient;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Streams through the pipeline: relayed chunk by chunk to their proper end, their usage found; a
 * stream that breaks after the client has bytes ends with an SSE error event; one that fails before
 * its first byte is retried like any failed attempt.
 */
class StreamRelayTest {
  static final String HEL =
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}],"
          + "\"usage\":null}\n\n";
  static final String LO =
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}],"
          + "\"usage\":null}\n\n";
  static final String USAGE =
      "data: {\"id\":\"c1\",\"choices\":[],"
          + "\"usage\": {\"completion_tokens\": 2, \"prompt_tokens\": 9, \"total_tokens\": 11}}\n\n";
  static final String DONE = "data: [DONE]\n\n";

  private final PipelineHarness h = new PipelineHarness(PipelineHarness.TWO_DEPLOYMENTS);

  @AfterEach
  void everythingSettled() {
    try {
      h.assertSettled();
    } finally {
      h.close();
    }
  }

  /** A chat stream whose client asks for its usage chunk. */
  static RecordingExchange askingForUsage() {
    return RecordingExchange.of(
        "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
  }

  @Test
  void aStreamIsRelayedToItsDoneWithItsUsage() {
    h.upstream.then(sse(HEL, LO, USAGE, DONE));
    RecordingExchange client = askingForUsage();

    h.handle(client);

    assertThat(client.status()).isEqualTo(200);
    assertThat(client.streamed()).isTrue();
    assertThat(client.text()).isEqualTo(HEL + LO + USAGE + DONE);
    assertThat(client.ended()).isTrue();
    assertThat(client.answerHeaders())
        .containsEntry("Content-Type", "text/event-stream; charset=utf-8")
        .containsEntry("x-penstock-deployment", "a")
        .containsEntry("x-penstock-attempts", "1");
    assertThat(h.upstream.calls().get(0).headers()).containsEntry("Accept", "text/event-stream");
    assertThat(h.upstream.calls().get(0).responseClosed()).isTrue();
    RequestRecord record = h.observer.only();
    assertThat(record.outcome()).isEqualTo(Outcome.OK);
    assertThat(record.stream()).isTrue();
    assertThat(record.promptTokens()).isEqualTo(9);
    assertThat(record.completionTokens()).isEqualTo(2);
    assertThat(h.windowTokens("a")).isEqualTo(11);
    assertThat(h.consecutiveFailures("a")).isZero();
  }

  /**
   * OpenAI sends a stream's usage only when asked; the gateway needs it for every request. A client
   * that did not ask has it asked for on its behalf, and does not get the usage chunk it did not
   * ask for — everything else, [DONE] included, byte for byte.
   */
  @Test
  void aClientThatDidNotAskForUsageGetsNoUsageChunkButTheGatewayCountsIt() {
    String usage =
        "data: {\"id\":\"c1\",\"choices\":[],\"usage\": {\"completion_tokens\": 2,"
            + " \"prompt_tokens\": 9, \"prompt_tokens_details\": {\"cached_tokens\": 8}}}\n\n";
    h.upstream.then(sse(HEL, LO + usage, DONE));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", true);

    h.handle(client);

    assertThat(client.text()).isEqualTo(HEL + LO + DONE);
    assertThat(h.upstream.calls().get(0).body())
        .as("asked for on the client's behalf")
        .startsWith("{\"stream_options\":{\"include_usage\":true},\"model\":\"gpt-4o\",");
    RequestRecord record = h.observer.only();
    assertThat(record.outcome()).isEqualTo(Outcome.OK);
    assertThat(record.promptTokens()).isEqualTo(9);
    assertThat(record.completionTokens()).isEqualTo(2);
    assertThat(record.cachedTokens()).isEqualTo(8);
    assertThat(h.windowTokens("a")).isEqualTo(11);
  }

  @Test
  void aClientThatAskedForUsageGetsTheUpstreamBodyAndStreamUntouched() {
    h.upstream.then(sse(HEL, LO, USAGE, DONE));
    RecordingExchange client = askingForUsage();

    h.handle(client);

    assertThat(client.text()).isEqualTo(HEL + LO + USAGE + DONE);
    assertThat(h.upstream.calls().get(0).body())
        .isEqualTo(
            "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
  }

  @Test
  void aLegacyCompletionStreamHasItsUsageWithheldAlike() {
    String text = "data: {\"id\":\"c2\",\"choices\":[{\"text\":\"Hi\",\"index\":0}]}\n\n";
    String usage =
        "data: {\"id\":\"c2\",\"choices\":[],"
            + "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":1}}\n\n";
    h.upstream.then(sse(text + usage + DONE));
    RecordingExchange client =
        RecordingExchange.of(
            "{\"model\":\"gpt-4o\",\"prompt\":\"Say hi\",\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":false}}");

    h.handle(Endpoint.COMPLETIONS, client);

    assertThat(client.text()).isEqualTo(text + DONE);
    assertThat(h.upstream.calls().get(0).body()).contains("{\"include_usage\":true}");
    assertThat(h.observer.only().promptTokens()).isEqualTo(4);
    assertThat(h.observer.only().completionTokens()).isEqualTo(1);
  }

  @Test
  void aStreamThatBreaksAfterItsFirstChunkEndsWithAnSseErrorInOpenAisShape() throws Exception {
    h.upstream.then(sseBreaking(HEL));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", true);

    h.handle(client);

    assertThat(client.status()).isEqualTo(200);
    assertThat(client.text()).startsWith(HEL);
    JsonNode error = lastEventData(client.text()).path("error");
    assertThat(error.path("type").asText()).isEqualTo("upstream_error");
    assertThat(error.path("code").asText()).isEqualTo("stream_incomplete");
    assertThat(error.path("message").asText()).contains("broke off");
    assertThat(error.has("param")).isTrue();
    assertThat(client.text()).endsWith("\n\n");
    assertThat(client.ended()).isTrue();
    assertThat(h.upstream.calls()).hasSize(1); // the client has bytes: never retried
    assertThat(h.upstream.calls().get(0).responseClosed()).isTrue();
    assertThat(h.consecutiveFailures("a")).as("counted against the circuit").isEqualTo(1);
    RequestRecord record = h.observer.only();
    assertThat(record.outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
    assertThat(record.errorCode()).isEqualTo("stream_incomplete");
  }

  @Test
  void aStreamThatStallsPastItsReadTimeoutEndsWithAnSseError() throws Exception {
    h.upstream.then(
        new ScriptedUpstream.Stream(
            Map.of("Content-Type", "text/event-stream"),
            List.of(HEL.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
            new UpstreamClient.TimeoutException(true)));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", true);

    h.handle(client);

    assertThat(lastEventData(client.text()).at("/error/message").asText())
        .contains("stalled past its read timeout");
    assertThat(h.observer.only().outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
  }

  @Test
  void aStreamThatEndsWithoutItsDoneIsBroken() throws Exception {
    h.upstream.then(sse(HEL, LO));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", true);

    h.handle(client);

    assertThat(client.text()).startsWith(HEL + LO);
    assertThat(lastEventData(client.text()).at("/error/message").asText())
        .contains("ended before it was complete");
    assertThat(h.observer.only().outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
    assertThat(h.consecutiveFailures("a")).isEqualTo(1);
  }

  /**
   * An upstream that ends its stream with its own error event failed mid-answer: the client has
   * that event (nothing is appended), and the attempt counts as an upstream error, against the
   * deployment's circuit too.
   */
  @Test
  void anErrorEventFromTheUpstreamEndsTheStreamAsAFailedAttempt() {
    String error =
        "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}"
            + "\n\n";
    h.upstream.then(sse(HEL, error));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", true);

    h.handle(client);

    assertThat(client.text()).as("nothing appended").isEqualTo(HEL + error);
    assertThat(h.consecutiveFailures("a")).isEqualTo(1);
    assertThat(h.observer.only().outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
    assertThat(h.observer.only().errorCode()).isEqualTo("upstream_stream_error");
  }

  @Test
  void aStreamThatFailsBeforeItsFirstByteIsRetriedAndTheClientSeesOnlyTheRetry() {
    h.upstream.then(sseBreaking(), sse(HEL, DONE));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", true);

    h.handle(client);

    assertThat(client.status()).isEqualTo(200);
    assertThat(client.text()).isEqualTo(HEL + DONE);
    assertThat(client.answerHeaders())
        .containsEntry("x-penstock-deployment", "b")
        .containsEntry("x-penstock-attempts", "2");
    assertThat(h.observer.events()).containsExactly("retried a broken");
  }

  @Test
  void theClientSeesOnlyTheHeadersOfTheAttemptThatAnswered() {
    h.upstream.then(
        new ScriptedUpstream.Stream(
            Map.of("Content-Type", "text/event-stream", "x-request-id", "up-failed"),
            List.of(),
            null),
        sse(HEL, DONE));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", true);

    h.handle(client);

    assertThat(client.text()).isEqualTo(HEL + DONE);
    assertThat(client.answerHeaders())
        .as("the failed attempt's upstream id would mislead whoever debugs this answer")
        .doesNotContainKey("x-upstream-request-id");
  }

  @Test
  void anEmptyStreamIsRetried() {
    h.upstream.then(sse(), sse(HEL, DONE));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", true);

    h.handle(client);

    assertThat(client.text()).isEqualTo(HEL + DONE);
    assertThat(h.observer.events()).containsExactly("retried a stream_incomplete");
  }

  @Test
  void aResponsesStreamEndsWithItsTerminalEventAndCarriesItsUsage() {
    String delta =
        """
        event: response.output_text.delta
        data: {"delta":"Hi","type":"response.output_text.delta"}

        """;
    String completed =
        "event: response.completed\n"
            + "data: {\"response\": {\"id\":\"resp_1\",\"usage\": {\"output_tokens\": 2,"
            + " \"input_tokens\": 5}}, \"type\": \"response.completed\"}\n\n";
    h.upstream.then(sse(delta, completed));
    RecordingExchange client =
        RecordingExchange.of("{\"model\":\"gpt-4o\",\"input\":\"Hi\",\"stream\":true}");

    h.handle(Endpoint.RESPONSES, client);

    assertThat(client.text()).isEqualTo(delta + completed);
    assertThat(h.upstream.calls().get(0).uri()).isEqualTo("http://a.upstream.test/v1/responses");
    RequestRecord record = h.observer.only();
    assertThat(record.outcome()).isEqualTo(Outcome.OK);
    assertThat(record.promptTokens()).isEqualTo(5);
    assertThat(record.completionTokens()).isEqualTo(2);
  }

  /** The data of the stream's last event, as JSON. */
  static JsonNode lastEventData(String stream) throws Exception {
    List<String> events =
        java.util.Arrays.stream(stream.split("\n\n", -1)).filter(e -> !e.isEmpty()).toList();
    String last = events.getLast();
    assertThat(last).startsWith("data: ");
    return RequestReader.JSON.readTree(last.substring("data: ".length()));
  }
}
