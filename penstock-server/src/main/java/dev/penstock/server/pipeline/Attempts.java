package dev.penstock.server.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.core.Admission.Reason;
import dev.penstock.core.AdmissionRejectedException;
import dev.penstock.core.Admissions;
import dev.penstock.core.Reservation;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.core.time.Ticker;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.OpenAiRequest;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.SseRelay;
import dev.penstock.server.openai.UpstreamSignals;
import dev.penstock.server.openai.Usage;
import dev.penstock.server.telemetry.Outcome;
import dev.penstock.server.telemetry.RequestObserver;
import dev.penstock.server.telemetry.RequestRecord;
import dev.penstock.server.telemetry.RetryReason;
import dev.penstock.server.upstream.UpstreamClient;
import dev.penstock.server.upstream.UpstreamResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The attempts of one admitted request, until an answer is relayed or an error is final (see {@link
 * Pipeline} for the whole way). Each attempt holds one reservation and settles it exactly once: as
 * an answer ({@code settle}), a failure to retry ({@code Admissions.retry}), a rate limit to
 * requeue ({@code Admissions.reacquire}) or a broken stream ({@code Admissions.fail}).
 *
 * <p>Used by one request thread only; not shared.
 */
final class Attempts {
  private static final Logger LOG = LoggerFactory.getLogger(Attempts.class);
  private static final int MAX_ERROR_BODY = 64 * 1024;
  private static final long DEFAULT_COOLDOWN_NANOS = 1_000_000_000L;

  /** Upstream statuses that mean "try again, maybe elsewhere" (SPEC 4). */
  private static final java.util.Set<Integer> RETRYABLE_STATUSES =
      java.util.Set.of(500, 502, 503, 504);

  private static final List<String> RELAYED_HEADERS =
      List.of("Content-Type", "openai-processing-ms", "openai-version");

  private final Admissions admissions;
  private final UpstreamClient client;
  private final Ticker ticker;
  private final LongSupplier wallMillis;
  private final Pipeline pipeline;
  private final OpenAiRequest request;
  private final ClientExchange exchange;
  private final Map<String, String> headers;
  private final Pipeline.Routing table;
  private final RequestRecord record;
  private final RequestObserver observer;
  private Reservation reservation;
  private int attempts = 1;
  private long queueNanos;

  /** What the client gets if no attempt succeeds: the last failure, as the upstream gave it. */
  private @Nullable Failure lastFailure;

  Attempts(
      Pipeline pipeline,
      OpenAiRequest request,
      Reservation reservation,
      ClientExchange exchange,
      Map<String, String> headers,
      Pipeline.Routing table,
      RequestRecord record) {
    this.admissions = pipeline.admissions;
    this.client = pipeline.client;
    this.ticker = pipeline.ticker;
    this.wallMillis = pipeline.wallMillis;
    this.pipeline = pipeline;
    this.request = request;
    this.reservation = reservation;
    this.exchange = exchange;
    this.headers = headers;
    this.table = table;
    this.record = record;
    this.observer = pipeline.observer;
    this.queueNanos = reservation.queueNanos();
  }

  void run() throws InterruptedException {
    while (!attempt()) {
      // the attempt failed and a retry was arranged: go again with the new reservation
    }
  }

  /**
   * One attempt on the reserved deployment. Returns true when the request is answered, false when
   * it failed before anything reached the client and a retry holds a new reservation; throws {@link
   * FinalFailure} or {@link ApiError} when it ends without an answer.
   */
  boolean attempt() throws InterruptedException {
    record.attempt(reservation.deployment());
    long start = ticker.nanos();
    long queuedBefore = record.queueNanos();
    try {
      return attemptOnce();
    } finally {
      // What a retry or requeue spent waiting inside this attempt is queue time, not upstream.
      record.addUpstreamNanos(ticker.nanos() - start - (record.queueNanos() - queuedBefore));
    }
  }

  private boolean attemptOnce() throws InterruptedException {
    UpstreamTarget target = target(reservation.deployment());
    if (target == null) {
      return retry(
          Settlement.UNCOUNTED,
          RetryReason.REMOVED,
          Failure.of(
              upstreamFailure(
                  502,
                  "upstream_unreachable",
                  "Deployment " + reservation.deployment() + " was removed.")));
    }
    if (ticker.nanos() >= reservation.ticket().demand().deadlineNanos()) {
      // Admitted at its deadline: sending now could only time out.
      settle(Settlement.UNCOUNTED, Usage.UNKNOWN, RateLimitObservation.NONE);
      throw lastFailure != null
          ? new FinalFailure(lastFailure, attempts)
          : upstreamFailure(504, "upstream_timeout", "The request's deadline passed.");
    }
    UpstreamResponse response;
    try {
      response = client.send(target.call(request));
    } catch (UpstreamClient.UnreachableException e) {
      // Never sent: the deployment's window is not charged.
      return retry(
          Settlement.UNCOUNTED,
          RetryReason.UNREACHABLE,
          Failure.of(
              upstreamFailure(
                  502,
                  "upstream_unreachable",
                  "Could not reach the upstream of deployment " + target.name() + ".")));
    } catch (SocketTimeoutException e) {
      return retry(Settlement.COUNTED, RetryReason.TIMEOUT, Failure.of(timedOut(target.name())));
    } catch (IOException e) {
      return retry(Settlement.COUNTED, RetryReason.BROKEN, Failure.of(broke(target.name(), e)));
    }
    RateLimitObservation observed = UpstreamSignals.rateLimits(response::header);
    int status = response.status();
    if (status == 429) {
      handle429(response, observed);
      return false;
    }
    if (RETRYABLE_STATUSES.contains(status)) {
      byte[] body = readBounded(response);
      LOG.debug("deployment {} answered {}; retrying", target.name(), status);
      return retry(
          Settlement.COUNTED,
          RetryReason.STATUS_5XX,
          new Failure(status, errorBodyOr(body, status, target)));
    }
    addAnswerHeaders(response);
    boolean sse = response.header("Content-Type").orElse("").startsWith("text/event-stream");
    if (status / 100 == 2 && sse) {
      return relayStream(response, observed);
    }
    return relayWhole(response, observed);
  }

  /**
   * How to reach a deployment: from the routing table the request started with, or — for a
   * deployment a reload added since, which the scheduler may already hand out — the current one.
   */
  private @Nullable UpstreamTarget target(String deployment) {
    UpstreamTarget target = table.targets().get(deployment);
    return target != null ? target : pipeline.routing().targets().get(deployment);
  }

  void addAnswerHeaders(UpstreamResponse response) {
    headers.put("x-penstock-deployment", reservation.deployment());
    headers.put("x-penstock-attempts", Integer.toString(attempts));
    headers.put("x-penstock-queue-ms", Long.toString(queueNanos / 1_000_000));
    for (String name : RELAYED_HEADERS) {
      response.header(name).ifPresent(value -> headers.put(name, value));
    }
    response.header("x-request-id").ifPresent(id -> headers.put("x-upstream-request-id", id));
  }

  /**
   * Ends the failed attempt and waits for the next one; returns false (go again). When no attempt
   * is left, throws {@link FinalFailure} with the last failure.
   */
  boolean retry(Settlement settlement, RetryReason why, Failure failure)
      throws InterruptedException {
    lastFailure = failure;
    String failedOn = reservation.deployment();
    long waitStart = ticker.nanos();
    try {
      reservation = admissions.retry(reservation, settlement);
    } catch (AdmissionRejectedException e) {
      record.addQueueNanos(ticker.nanos() - waitStart);
      Reason reason = e.rejected().reason();
      if (reason == Reason.SHUTTING_DOWN || reason == Reason.TOO_LARGE) {
        Pipeline.rejected(record, reason);
        throw ErrorResponses.of(e.rejected());
      }
      throw new FinalFailure(lastFailure, attempts);
    }
    observer.retried(failedOn, why);
    waited(waitStart);
    attempts++;
    return false;
  }

  /** Adds the wait for the new reservation to the request's queue time. */
  private void waited(long waitStartNanos) {
    long waited = Math.max(0, reservation.admittedNanos() - waitStartNanos);
    queueNanos += waited;
    record.addQueueNanos(waited);
  }

  /**
   * Handles an upstream {@code 429}: either the request goes back to the queue with a new
   * reservation, or (too large) an {@link ApiError} ends it.
   */
  void handle429(UpstreamResponse response, RateLimitObservation observed)
      throws InterruptedException {
    byte[] body = readBounded(response);
    JsonNode error = parseError(body);
    String message = error.path("message").asText("");
    String code = error.path("code").isTextual() ? error.path("code").asText() : null;
    String type = error.path("type").isTextual() ? error.path("type").asText() : null;
    String deployment = reservation.deployment();
    observer.upstreamRateLimited(deployment);
    long now = ticker.nanos();
    switch (UpstreamSignals.classify(code, type, message)) {
      case TOO_LARGE -> {
        settle(Settlement.UNCOUNTED, Usage.UNKNOWN, observed);
        throw new ApiError(400, "invalid_request_error", message, null, "request_too_large", -1);
      }
      case INSUFFICIENT_QUOTA -> {
        LOG.warn(
            "deployment {} reported insufficient_quota: disabled until re-enabled", deployment);
        admissions.inspect(
            s -> {
              s.disable(deployment, "insufficient_quota", now);
              return null;
            });
        lastFailure = new Failure(429, body);
        requeue(now, observed);
      }
      case RATE_LIMIT -> {
        long wait =
            UpstreamSignals.retryAfterNanos(response::header, message, wallMillis.getAsLong());
        LOG.debug("deployment {} answered 429; cooling down {} ms", deployment, wait / 1_000_000);
        lastFailure = new Failure(429, body);
        requeue(now + (wait > 0 ? wait : DEFAULT_COOLDOWN_NANOS), observed);
      }
    }
  }

  void requeue(long coolDownUntilNanos, RateLimitObservation observed) throws InterruptedException {
    long waitStart = ticker.nanos();
    try {
      reservation = admissions.reacquire(reservation, coolDownUntilNanos, observed);
    } catch (AdmissionRejectedException e) {
      record.addQueueNanos(ticker.nanos() - waitStart);
      Pipeline.rejected(record, e.rejected().reason());
      throw ErrorResponses.of(e.rejected());
    }
    waited(waitStart);
    attempts++;
  }

  /** Relays a whole answer; a body that breaks off is a failed attempt (nothing was sent yet). */
  boolean relayWhole(UpstreamResponse response, RateLimitObservation observed)
      throws InterruptedException {
    byte[] body;
    try (response) {
      body = readAll(response);
    } catch (SocketTimeoutException e) {
      return retry(
          Settlement.COUNTED, RetryReason.TIMEOUT, Failure.of(timedOut(reservation.deployment())));
    } catch (IOException e) {
      return retry(
          Settlement.COUNTED, RetryReason.BROKEN, Failure.of(broke(reservation.deployment(), e)));
    }
    int status = response.status();
    if (status / 100 != 2) {
      settle(Settlement.COUNTED, Usage.UNKNOWN, observed);
      Failure passed = new Failure(status, body);
      record.failed(
          status >= 500 ? Outcome.UPSTREAM_ERROR : Outcome.CLIENT_ERROR,
          passed.code(),
          passed.message());
      exchange.send(status, headers, body);
      return true;
    }
    JsonNode answer = parseJson(body);
    if (answer == null) {
      // An SDK would fail to parse it: to the client this is no answer at all.
      return retry(
          Settlement.COUNTED,
          RetryReason.MALFORMED,
          Failure.of(
              upstreamFailure(
                  502,
                  "upstream_malformed",
                  "The upstream of deployment "
                      + reservation.deployment()
                      + " answered with malformed JSON.")));
    }
    settle(Settlement.COMPLETED, Usage.of(answer.path("usage")), observed);
    exchange.send(status, headers, body);
    return true;
  }

  /**
   * Relays a stream. Its status and headers go to the client only with the first chunk, so that a
   * stream failing before any data is retried like any other failed attempt; once the client has a
   * byte, a failure ends the stream with an SSE error event.
   */
  boolean relayStream(UpstreamResponse response, RateLimitObservation observed)
      throws InterruptedException {
    SseRelay relay = new SseRelay();
    byte[] buffer = new byte[8192];
    InputStream in;
    int first;
    try {
      in = response.body();
      first = in.read(buffer);
    } catch (IOException e) {
      response.close();
      boolean timeout = e instanceof SocketTimeoutException;
      Failure failure =
          Failure.of(
              timeout ? timedOut(reservation.deployment()) : broke(reservation.deployment(), e));
      return retry(Settlement.COUNTED, timeout ? RetryReason.TIMEOUT : RetryReason.BROKEN, failure);
    }
    if (first < 0) {
      response.close();
      return retry(
          Settlement.COUNTED,
          RetryReason.STREAM_INCOMPLETE,
          Failure.of(
              upstreamFailure(
                  502,
                  "stream_incomplete",
                  "The upstream stream of deployment "
                      + reservation.deployment()
                      + " ended before its first event.")));
    }
    OutputStream out;
    try {
      out = exchange.stream(response.status(), headers);
    } catch (IOException e) {
      response.close();
      settle(Settlement.COUNTED, Usage.UNKNOWN, observed);
      return true;
    }
    try (response;
        in) {
      for (int n = first; n >= 0; n = in.read(buffer)) {
        relay.accept(buffer, 0, n);
        try {
          out.write(buffer, 0, n);
          out.flush();
        } catch (IOException clientGone) {
          settle(Settlement.COUNTED, relay.usage(), observed);
          return true;
        }
      }
    } catch (SocketTimeoutException stalled) {
      endBroken(
          out,
          relay,
          "The upstream stream of deployment "
              + reservation.deployment()
              + " stalled past its read timeout.");
      return true;
    } catch (IOException upstreamBroke) {
      endBroken(
          out,
          relay,
          "The upstream stream of deployment " + reservation.deployment() + " broke off.");
      return true;
    }
    if (!relay.finished() && !relay.sawErrorEvent()) {
      endBroken(
          out,
          relay,
          "The upstream stream of deployment "
              + reservation.deployment()
              + " ended before it was complete.");
      return true;
    }
    settle(Settlement.COMPLETED, relay.usage(), observed);
    closeQuietly(out);
    return true;
  }

  /** A stream that began cannot become an HTTP error: it ends with an SSE error event. */
  void endBroken(OutputStream out, SseRelay relay, String message) {
    Usage usage = relay.usage();
    record.failed(Outcome.UPSTREAM_ERROR, "stream_incomplete", message);
    if (usage.known()) {
      record.usage(usage.promptTokens(), usage.completionTokens());
    }
    admissions.fail(
        reservation, Settlement.COUNTED, usage.promptTokens(), usage.completionTokens());
    try {
      out.write(
          ErrorResponses.sseEvent(
              new ApiError(502, "upstream_error", message, null, "stream_incomplete", -1)));
      out.flush();
    } catch (IOException e) {
      // the client left too
    }
    closeQuietly(out);
  }

  void settle(Settlement settlement, Usage usage, RateLimitObservation observed) {
    if (usage.known()) {
      record.usage(usage.promptTokens(), usage.completionTokens());
    }
    admissions.settle(
        reservation, settlement, usage.promptTokens(), usage.completionTokens(), observed);
  }

  /** A failed attempt's answer: the upstream's own status and body, or Penstock's error. */
  record Failure(int status, byte[] body) {
    static Failure of(ApiError error) {
      return new Failure(error.status(), ErrorResponses.body(error));
    }

    /** The error's {@code code}, else its {@code type}, when the body is OpenAI-shaped. */
    @Nullable String code() {
      JsonNode error = parseError(body);
      JsonNode code = error.path("code").isTextual() ? error.path("code") : error.path("type");
      return code.isTextual() ? code.asText() : null;
    }

    @Nullable String message() {
      JsonNode message = parseError(body).path("message");
      return message.isTextual() ? message.asText() : null;
    }
  }

  /** The request ends with its last failure: no attempt left, or none could finish in time. */
  static final class FinalFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient Failure failure;
    final int attempts;

    FinalFailure(Failure failure, int attempts) {
      super(null, null, false, false);
      this.failure = failure;
      this.attempts = attempts;
    }
  }

  /** The upstream's error body when it is OpenAI-shaped JSON, else Penstock's own error. */
  private static byte[] errorBodyOr(byte[] body, int status, UpstreamTarget target) {
    if (parseError(body).path("message").isTextual()) {
      return body;
    }
    return ErrorResponses.body(
        upstreamFailure(
            status,
            "upstream_error",
            "The upstream of deployment " + target.name() + " answered " + status + "."));
  }

  private static ApiError timedOut(String deployment) {
    return upstreamFailure(
        504,
        "upstream_timeout",
        "The upstream of deployment " + deployment + " did not answer within its read timeout.");
  }

  private static ApiError broke(String deployment, IOException e) {
    return upstreamFailure(
        502,
        "upstream_error",
        "The upstream of deployment "
            + deployment
            + " failed: "
            + e.getClass().getSimpleName()
            + ".");
  }

  /** The body as JSON, or null when it is not JSON (a truncated or garbled answer). */
  private static @Nullable JsonNode parseJson(byte[] body) {
    try {
      JsonNode node = RequestReader.JSON.readTree(body);
      return node == null || node.isMissingNode() ? null : node;
    } catch (IOException e) {
      return null;
    }
  }

  /** Reads a whole answer, exactly sized when the upstream declared its length. */
  private static byte[] readAll(UpstreamResponse response) throws IOException {
    InputStream in = response.body();
    long declared = response.header("Content-Length").map(Attempts::parseLength).orElse(-1L);
    if (declared >= 0 && declared < Integer.MAX_VALUE - 8) {
      byte[] body = in.readNBytes((int) declared);
      if (body.length < declared) {
        throw new IOException("upstream answer shorter than its Content-Length");
      }
      in.read(); // see the end: the client returns the connection to its pool only then
      return body;
    }
    return in.readAllBytes();
  }

  private static long parseLength(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static JsonNode parseError(byte[] body) {
    try {
      return RequestReader.JSON.readTree(body).path("error");
    } catch (IOException | RuntimeException e) {
      return RequestReader.JSON.createObjectNode();
    }
  }

  private static byte[] readBounded(UpstreamResponse response) {
    try (response;
        InputStream in = response.body()) {
      return in.readNBytes(MAX_ERROR_BODY);
    } catch (IOException e) {
      return new byte[0];
    }
  }

  private static void closeQuietly(OutputStream out) {
    try {
      out.close();
    } catch (IOException e) {
      // the client left; nothing more to tell it
    }
  }

  private static ApiError upstreamFailure(int status, String code, String message) {
    return new ApiError(status, "upstream_error", message, null, code, -1);
  }
}
