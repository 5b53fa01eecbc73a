package dev.penstock.server.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.core.queue.Priority;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.pipeline.ClientExchange;
import dev.penstock.server.pipeline.ErrorResponses;
import dev.penstock.server.pipeline.InternalCaller;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class PipelineLineExecutorTest {
  private static final BatchRecord BATCH = batch("/v1/chat/completions");
  private static final BatchLine LINE =
      new BatchLine(7, "req-7", "{\"model\":\"gpt-4o\",\"messages\":[]}", 1);

  @Test
  void aLineRunsAsTheBatchOwnerAtBatchPriorityWithItsBodyAndTimeout() throws Exception {
    AtomicReference<Endpoint> endpoint = new AtomicReference<>();
    AtomicReference<InternalCaller> caller = new AtomicReference<>();
    AtomicReference<String> body = new AtomicReference<>();
    AtomicReference<String> requestId = new AtomicReference<>();
    PipelineLineExecutor exec =
        new PipelineLineExecutor(
            (e, exchange, id, c) -> {
              endpoint.set(e);
              caller.set(c);
              requestId.set(id);
              body.set(new String(exchange.body(), StandardCharsets.UTF_8));
              exchange.send(200, Map.of(), "{\"id\":\"x\"}".getBytes(StandardCharsets.UTF_8));
            },
            42_000);

    LineOutcome outcome = exec.run(BATCH, LINE);

    assertThat(endpoint.get()).isEqualTo(Endpoint.CHAT);
    assertThat(caller.get())
        .isEqualTo(new InternalCaller("key-1", "batch:" + BATCH.id(), Priority.BATCH, 42_000));
    assertThat(body.get()).isEqualTo(LINE.body());
    JsonNode line = json(((LineOutcome.Finished) outcome).result().json());
    // no x-request-id header: the id the line was sent under
    assertThat(line.path("response").path("request_id").asText()).isEqualTo(requestId.get());
    assertThat(requestId.get()).startsWith("req_");
  }

  @Test
  void a200IsDoneWithTheAnswerItsRequestIdAndItsUsage() throws Exception {
    String answer =
        """
        {"id":"chatcmpl-1","object":"chat.completion","choices":[],
         "usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,
                  "prompt_tokens_details":{"cached_tokens":4},
                  "completion_tokens_details":{"reasoning_tokens":2}}}""";
    LineOutcome outcome =
        run(BATCH, x -> x.send(200, Map.of("x-request-id", "req_abc"), bytes(answer)));

    LineResult result = ((LineOutcome.Finished) outcome).result();
    assertThat(result.failed()).isFalse();
    assertThat(result.inputTokens()).isEqualTo(12);
    assertThat(result.outputTokens()).isEqualTo(5);
    assertThat(result.cachedTokens()).isEqualTo(4);
    assertThat(result.reasoningTokens()).isEqualTo(2);
    JsonNode line = json(result.json());
    assertThat(line.path("id").asText()).isEqualTo(BatchIds.request(BATCH.id(), 7));
    assertThat(line.path("custom_id").asText()).isEqualTo("req-7");
    assertThat(line.path("response").path("status_code").asInt()).isEqualTo(200);
    assertThat(line.path("response").path("request_id").asText()).isEqualTo("req_abc");
    assertThat(line.path("response").path("body")).isEqualTo(json(answer));
    assertThat(line.has("error")).isTrue();
    assertThat(line.path("error").isNull()).isTrue();
  }

  @Test
  void theResponsesApiUsageIsReadToo() throws Exception {
    String answer =
        """
        {"id":"resp_1","object":"response",
         "usage":{"input_tokens":20,"output_tokens":8,
                  "input_tokens_details":{"cached_tokens":10},
                  "output_tokens_details":{"reasoning_tokens":6}}}""";
    LineOutcome outcome = run(batch("/v1/responses"), x -> x.send(200, Map.of(), bytes(answer)));

    LineResult result = ((LineOutcome.Finished) outcome).result();
    assertThat(
            List.of(
                result.inputTokens(),
                result.outputTokens(),
                result.cachedTokens(),
                result.reasoningTokens()))
        .containsExactly(20L, 8L, 10L, 6L);
  }

  @Test
  void noRoomNowIsTriedAgainLaterAfterItsRetryAfter() throws Exception {
    assertThat(
            error(new ApiError(429, "penstock_overloaded", "m", null, "penstock_overloaded", 1500)))
        .isEqualTo(new LineOutcome.NoCapacity(1500));
    assertThat(error(new ApiError(429, "penstock_overloaded", "m", null, "queue_full", 200)))
        .isEqualTo(new LineOutcome.NoCapacity(200));
    assertThat(error(ErrorResponses.shuttingDown())).isEqualTo(new LineOutcome.NoCapacity(1000));
    assertThat(error(new ApiError(429, "requests", "m", null, "rate_limit_exceeded", 2500)))
        .isEqualTo(new LineOutcome.NoCapacity(2500));
    assertThat(run(BATCH, x -> {})).isEqualTo(new LineOutcome.NoCapacity(-1));
    LineOutcome seconds =
        run(
            BATCH,
            x ->
                x.send(
                    429,
                    Map.of("Retry-After", "3"),
                    bytes(
                        "{\"error\":{\"message\":\"slow down\",\"code\":\"rate_limit_exceeded\"}}")));
    assertThat(seconds).isEqualTo(new LineOutcome.NoCapacity(3000));
  }

  @Test
  void anUpstreamFailureIsAServerErrorWithItsExhaustedLineReady() throws Exception {
    LineOutcome outcome =
        error(
            new ApiError(
                502, "upstream_error", "all deployments failed", null, "upstream_failed", -1));

    LineOutcome.ServerError e = (LineOutcome.ServerError) outcome;
    assertThat(e.retryAfterMillis()).isEqualTo(-1);
    assertThat(e.ifExhausted().failed()).isTrue();
    JsonNode line = json(e.ifExhausted().json());
    assertThat(line.path("error").path("code").asText()).isEqualTo("attempts_exhausted");
    assertThat(line.path("error").path("message").asText()).contains("all deployments failed");
    assertThat(line.path("response").path("status_code").asInt()).isEqualTo(502);
    assertThat(line.path("response").path("request_id").asText()).isEqualTo("req_err");
  }

  @Test
  void otherClientErrorsFailForGoodWithTheAnswersError() throws Exception {
    for (ApiError refusal :
        List.of(
            new ApiError(
                400, "invalid_request_error", "bad field", "messages", "invalid_value", -1),
            new ApiError(
                401, "invalid_request_error", "Incorrect API key", null, "invalid_api_key", -1),
            new ApiError(403, "invalid_request_error", "model", "model", "model_not_allowed", -1),
            new ApiError(404, "invalid_request_error", "no model", "model", "model_not_found", -1),
            new ApiError(429, "budget_exceeded", "spent", null, "budget_exceeded", -1),
            new ApiError(429, "tokens", "Request too large", null, "rate_limit_exceeded", -1))) {
      LineOutcome outcome = error(refusal);
      LineResult result = ((LineOutcome.Finished) outcome).result();
      assertThat(result.failed()).as(refusal.code()).isTrue();
      JsonNode line = json(result.json());
      assertThat(line.path("error").path("code").asText()).isEqualTo(refusal.code());
      assertThat(line.path("error").path("message").asText()).isEqualTo(refusal.getMessage());
      assertThat(line.path("response").path("status_code").asInt()).isEqualTo(refusal.status());
      assertThat(line.path("response").path("body").path("error").path("code").asText())
          .isEqualTo(refusal.code());
    }
    LineOutcome bare = run(BATCH, x -> x.send(413, Map.of(), bytes("too large")));
    JsonNode line = json(((LineOutcome.Finished) bare).result().json());
    assertThat(line.path("error").path("code").asText()).isEqualTo("http_413");
    assertThat(line.path("response").path("body").asText()).isEqualTo("too large");
  }

  @Test
  void anUnknownEndpointFailsTheLine() throws Exception {
    LineOutcome outcome = run(batch("/v1/audio/speech"), x -> {});
    JsonNode line = json(((LineOutcome.Finished) outcome).result().json());
    assertThat(line.path("error").path("code").asText()).isEqualTo("invalid_url");
    assertThat(line.path("response").isNull()).isTrue();
  }

  @Test
  void aLineInterruptedWithoutAnAnswerIsInterrupted() {
    PipelineLineExecutor exec =
        new PipelineLineExecutor((e, x, id, c) -> Thread.currentThread().interrupt(), 1000);
    assertThatThrownBy(() -> exec.run(BATCH, LINE)).isInstanceOf(InterruptedException.class);
    assertThat(Thread.interrupted()).isFalse();
  }

  @Test
  void endpointsMapFromTheirPaths() {
    assertThat(PipelineLineExecutor.endpoint("/v1/chat/completions")).isEqualTo(Endpoint.CHAT);
    assertThat(PipelineLineExecutor.endpoint("/v1/embeddings")).isEqualTo(Endpoint.EMBEDDINGS);
    assertThat(PipelineLineExecutor.endpoint("/v1/completions")).isEqualTo(Endpoint.COMPLETIONS);
    assertThat(PipelineLineExecutor.endpoint("/v1/responses")).isEqualTo(Endpoint.RESPONSES);
    assertThat(PipelineLineExecutor.endpoint("/chat/completions")).isNull();
  }

  private static LineOutcome error(ApiError error) throws InterruptedException {
    return run(BATCH, x -> ErrorResponses.send(x, error, Map.of("x-request-id", "req_err")));
  }

  private static LineOutcome run(BatchRecord batch, Consumer<ClientExchange> answer)
      throws InterruptedException {
    return new PipelineLineExecutor((e, exchange, id, c) -> answer.accept(exchange), 60_000)
        .run(batch, LINE);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static JsonNode json(String s) throws Exception {
    return RequestReader.JSON.readTree(s);
  }

  private static BatchRecord batch(String endpoint) {
    return new BatchRecord(
        "batch_0123456789abcdef01234567",
        "key-1",
        endpoint,
        "gpt-4o",
        "file-in",
        "24h",
        BatchStatus.IN_PROGRESS,
        Map.of(),
        List.of(),
        null,
        null,
        1,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0);
  }
}
