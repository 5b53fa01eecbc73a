package dev.penstock.server.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.penstock.core.queue.Priority;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.pipeline.BufferedExchange;
import dev.penstock.server.pipeline.ClientExchange;
import dev.penstock.server.pipeline.InternalCaller;
import dev.penstock.server.pipeline.Pipeline;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Runs a batch line through the gateway's pipeline as the batch's owner key, at {@link
 * Priority#BATCH} (only the capacity interactive requests leave), and classifies the answer.
 *
 * <ul>
 *   <li>{@code 200}: done; the output line holds the answer, its {@code x-request-id}, its usage.
 *   <li>No room now — {@code 429 penstock_overloaded} or {@code queue_full}, the key's {@code
 *       rate_limit_exceeded} with a {@code Retry-After}, {@code 503 shutting_down}, any other
 *       {@code 429} or {@code 503} that names a {@code Retry-After} (e.g. {@code no_deployment}:
 *       every deployment's circuit open — a batch waits that out rather than spend its attempts),
 *       {@code 499}, or no answer at all: {@link LineOutcome.NoCapacity}, run again later.
 *   <li>{@code 5xx} (the pipeline already retried and failed over): {@link
 *       LineOutcome.ServerError}, run again up to the runner's attempts, then {@code
 *       attempts_exhausted}.
 *   <li>Any other {@code 4xx} ({@code 400}, {@code 401} revoked key, {@code 403}, {@code 404},
 *       {@code 413}, {@code 429 budget_exceeded}, a request too large for the key's TPM): failed,
 *       with the answer's error code and message.
 * </ul>
 *
 * <p>Usage reaches the ledger and the key's budget through the pipeline, as for any request.
 */
public final class PipelineLineExecutor implements LineExecutor {
  /** How a line reaches the pipeline: {@link Pipeline#handle} (a test passes a fake). */
  @FunctionalInterface
  public interface Handler {
    void handle(
        Endpoint endpoint, ClientExchange exchange, String requestId, InternalCaller caller);
  }

  /** The codes of a {@code 429} or {@code 503} that means "no room now", not "never". */
  private static final Set<String> NO_ROOM_CODES =
      Set.of("penstock_overloaded", "queue_full", "shutting_down", "client_closed");

  private final Handler handler;
  private final long lineTimeoutMillis;

  public PipelineLineExecutor(Pipeline pipeline, GatewayConfig.Batches settings) {
    this(pipeline::handle, settings.lineTimeoutMillis());
  }

  public PipelineLineExecutor(Handler handler, long lineTimeoutMillis) {
    this.handler = handler;
    this.lineTimeoutMillis = lineTimeoutMillis;
  }

  /** The endpoint of a batch's {@code endpoint} ({@code /v1/chat/completions}); null if none. */
  public static @Nullable Endpoint endpoint(String path) {
    for (Endpoint e : Endpoint.values()) {
      if (("/v1" + e.path()).equals(path)) {
        return e;
      }
    }
    return null;
  }

  @Override
  public LineOutcome run(BatchRecord batch, BatchLine line) throws InterruptedException {
    Endpoint endpoint = endpoint(batch.endpoint());
    if (endpoint == null) {
      return new LineOutcome.Finished(
          LineResult.failure(
              ResultLines.unanswered(
                  batch.id(),
                  line,
                  "invalid_url",
                  "The batch's endpoint " + batch.endpoint() + " is not supported.")));
    }
    BufferedExchange exchange = new BufferedExchange(line.body().getBytes(StandardCharsets.UTF_8));
    String requestId = Pipeline.newRequestId();
    InternalCaller caller =
        new InternalCaller(
            batch.ownerKeyId(), "batch:" + batch.id(), Priority.BATCH, lineTimeoutMillis);
    handler.handle(endpoint, exchange, requestId, caller);
    boolean interrupted = Thread.interrupted();
    if (!exchange.answered() || exchange.status() == 499) {
      if (interrupted) {
        throw new InterruptedException("the line got no answer before the runner stopped");
      }
      return new LineOutcome.NoCapacity(-1);
    }
    LineOutcome outcome = classify(batch.id(), line, exchange, requestId);
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return outcome;
  }

  /** What the answer in {@code exchange} means for {@code line}. */
  static LineOutcome classify(
      String batchId, BatchLine line, BufferedExchange exchange, String requestId) {
    int status = exchange.status();
    String answerId = exchange.answerHeader("x-request-id");
    String id = answerId == null ? requestId : answerId;
    JsonNode body = body(exchange);
    long retryAfter = retryAfterMillis(exchange);
    if (status >= 200 && status < 300) {
      JsonNode usage = body.path("usage");
      long input = first(usage, "prompt_tokens", "input_tokens");
      long output = first(usage, "completion_tokens", "output_tokens");
      long cached =
          Math.max(
              usage.path("prompt_tokens_details").path("cached_tokens").asLong(0),
              usage.path("input_tokens_details").path("cached_tokens").asLong(0));
      long reasoning =
          Math.max(
              usage.path("completion_tokens_details").path("reasoning_tokens").asLong(0),
              usage.path("output_tokens_details").path("reasoning_tokens").asLong(0));
      return new LineOutcome.Finished(
          new LineResult(
              false,
              ResultLines.answered(batchId, line, status, id, body, null, null),
              input,
              cached,
              output,
              reasoning));
    }
    JsonNode error = body.path("error");
    String code = text(error.path("code"));
    String type = text(error.path("type"));
    String message = text(error.path("message"));
    if (status == 429 || status == 503) {
      boolean noRoom =
          (code != null && NO_ROOM_CODES.contains(code))
              || "penstock_overloaded".equals(type)
              || (retryAfter >= 0 && !"budget_exceeded".equals(code));
      if (noRoom) {
        return new LineOutcome.NoCapacity(retryAfter);
      }
    }
    if (status >= 500 || status == 408) {
      String failedBecause =
          "The upstreams failed this request on every attempt"
              + (message == null ? "." : ": " + message);
      return new LineOutcome.ServerError(
          LineResult.failure(
              ResultLines.answered(
                  batchId, line, status, id, body, ResultLines.ATTEMPTS_EXHAUSTED, failedBecause)),
          retryAfter);
    }
    String failedCode =
        code != null ? code : type != null ? type : "http_" + Integer.toString(status);
    String failedMessage =
        message != null ? message : "The request was refused with status " + status + ".";
    return new LineOutcome.Finished(
        LineResult.failure(
            ResultLines.answered(batchId, line, status, id, body, failedCode, failedMessage)));
  }

  /** The answer's body as JSON; a body that is not JSON (a stream, an HTML page) as a string. */
  private static JsonNode body(BufferedExchange exchange) {
    byte[] bytes = exchange.answerBody();
    if (!exchange.streamed() && bytes.length > 0) {
      try {
        JsonNode node = RequestReader.JSON.readTree(bytes);
        if (node != null && !node.isMissingNode()) {
          return node;
        }
      } catch (IOException e) {
        // not JSON: kept as text below
      }
    }
    return JsonNodeFactory.instance.textNode(exchange.answerText());
  }

  /** {@code retry-after-ms}, else {@code Retry-After} in seconds; -1 when neither is there. */
  static long retryAfterMillis(BufferedExchange exchange) {
    String ms = exchange.answerHeader("retry-after-ms");
    if (ms != null) {
      try {
        return Math.max(0, (long) Double.parseDouble(ms.trim()));
      } catch (NumberFormatException e) {
        // fall through to Retry-After
      }
    }
    String seconds = exchange.answerHeader("retry-after");
    if (seconds != null) {
      try {
        return Math.max(0, Long.parseLong(seconds.trim()) * 1000);
      } catch (NumberFormatException e) {
        return 1000; // an HTTP date: some time soon
      }
    }
    return -1;
  }

  private static long first(JsonNode usage, String name, String other) {
    JsonNode n = usage.path(name);
    return n.isNumber() ? n.asLong() : Math.max(0, usage.path(other).asLong(0));
  }

  private static @Nullable String text(JsonNode node) {
    return node.isTextual() && !node.asText().isEmpty() ? node.asText() : null;
  }
}
