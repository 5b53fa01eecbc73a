package dev.penstock.server.pipeline;

import dev.penstock.core.Admission;
import dev.penstock.core.AdmissionRejectedException;
import dev.penstock.core.Admissions;
import dev.penstock.core.Reservation;
import dev.penstock.core.ReservationScope;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.core.limit.UpstreamSignals;
import dev.penstock.core.time.Ticker;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.Usage;
import dev.penstock.server.telemetry.Outcome;
import dev.penstock.server.telemetry.RequestObserver;
import dev.penstock.server.telemetry.RetryReason;
import dev.penstock.server.upstream.UpstreamClient;
import dev.penstock.server.upstream.UpstreamResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admission and attempts: the last stage. It takes capacity for the request — at once, after a wait
 * in the queue, or not at all ({@code 429} with {@code Retry-After}) — sends the request to the
 * reserved deployment and relays the answer, retrying, failing over and requeueing as each
 * attempt's {@link AttemptOutcome} says:
 *
 * <pre>
 * Answered ─────► settle (real usage reconciles the charge)                    ─► done
 * Broke ────────► fail (a stream cut after its first byte; SSE error sent)      ─► done
 * ClientLeft ───► leave (the upstream call was closed; nothing to answer)       ─► done
 * Refused ──────► settle, uncounted                         ─► the client's error (400)
 * RateLimited ──► cool the deployment down, requeue in front (not a failure)    ─► again
 * QuotaExhausted► disable the deployment, requeue for another                   ─► again
 * Failed ───────► retry elsewhere or after a backoff, while attempts, time and the
 *                 failure allow                             ─► again, or the last failure
 * </pre>
 *
 * <p>Every reservation lives in a {@link ReservationScope}: the switch above settles each attempt's
 * reservation exactly once, and the scope, closed in a {@code finally}, settles whatever a bug left
 * open (and counts it as a leak).
 */
final class UpstreamStage implements Stage {
  private static final Logger LOG = LoggerFactory.getLogger(UpstreamStage.class);
  private static final long DEFAULT_COOLDOWN_NANOS = 1_000_000_000L;

  /**
   * The shortest cool-down after an upstream 429, whatever it asks: a refusal that could be sent
   * again at once would loop (an upstream answering {@code retry-after-ms: 0} to everything).
   */
  private static final long MIN_COOLDOWN_NANOS = 100_000_000L;

  /** An error body is read up to this size: enough for any real one, bounded for a hostile one. */
  private static final int MAX_ERROR_BODY = 1 << 20;

  private static final byte[] NO_BODY = new byte[0];
  private static final List<String> RELAYED_HEADERS =
      List.of("Content-Type", "openai-processing-ms", "openai-version");

  private final Admissions admissions;
  private final UpstreamClient client;
  private final Ticker ticker;
  private final LongSupplier wallMillis;
  private final RequestObserver observer;
  private final Supplier<Pipeline.Routing> currentRouting;
  private final ErrorRedaction redaction;

  UpstreamStage(
      Admissions admissions,
      UpstreamClient client,
      Ticker ticker,
      LongSupplier wallMillis,
      RequestObserver observer,
      Supplier<Pipeline.Routing> currentRouting,
      ErrorRedaction redaction) {
    this.admissions = admissions;
    this.client = client;
    this.ticker = ticker;
    this.wallMillis = wallMillis;
    this.observer = observer;
    this.currentRouting = currentRouting;
    this.redaction = redaction;
  }

  @Override
  public void serve(ProxyCall call, Chain chain) throws InterruptedException {
    Relay relay =
        new Relay(call.routing().retryTimeouts(), call.routing().maxAnswerBytes(), redaction);
    try (ReservationScope scope = admit(call)) {
      Failure last = null;
      while (true) {
        String deployment = scope.reservation().deployment();
        if (call.cancel().cancelled()) {
          // Admitted in the moment its client left (or the gateway gave up on it): never sent.
          scope.settle(Settlement.UNCOUNTED, -1, -1, RateLimitObservation.NONE);
          throw call.shutDown()
              ? ErrorResponses.shuttingDown()
              : new ClientGone(call.cancel().reason());
        }
        long start = ticker.nanos();
        AttemptOutcome outcome = attempt(call, deployment, relay);
        call.record().addUpstreamNanos(ticker.nanos() - start);
        switch (outcome) {
          case AttemptOutcome.Answered a -> {
            usage(call, a.usage());
            scope.settle(
                a.settlement(),
                a.usage().promptTokens(),
                a.usage().completionTokens(),
                a.observed());
            return;
          }
          case AttemptOutcome.Broke b -> {
            usage(call, b.usage());
            scope.fail(Settlement.COUNTED, b.usage().promptTokens(), b.usage().completionTokens());
            return;
          }
          case AttemptOutcome.ShutDown d -> {
            usage(call, d.usage());
            scope.leave(d.settlement(), d.usage().promptTokens(), d.usage().completionTokens());
            ApiError shuttingDown = ErrorResponses.shuttingDown();
            if (d.streamed()) {
              call.record()
                  .failed(Outcome.OVERLOADED, shuttingDown.code(), shuttingDown.getMessage());
              return; // the stream ended with the error event
            }
            throw shuttingDown;
          }
          case AttemptOutcome.ClientLeft c -> {
            usage(call, c.usage());
            scope.leave(c.settlement(), c.usage().promptTokens(), c.usage().completionTokens());
            if (call.shutDown()) {
              throw ErrorResponses.shuttingDown(); // cut before anything reached the client
            }
            call.cancel().cancel("client_closed"); // no-op if the watcher saw it first
            throw new ClientGone(call.cancel().reason());
          }
          case AttemptOutcome.Refused r -> {
            scope.settle(Settlement.UNCOUNTED, -1, -1, r.observed());
            throw r.error();
          }
          case AttemptOutcome.RateLimited r -> {
            last = r.failure();
            observer.upstreamRateLimited(deployment);
            LOG.debug("deployment {} answered 429; cooling down", deployment);
            requeue(call, scope, r.coolDownUntilNanos(), r.observed());
          }
          case AttemptOutcome.QuotaExhausted q -> {
            last = q.failure();
            observer.upstreamRateLimited(deployment);
            LOG.warn(
                "deployment {} reported insufficient_quota: disabled until re-enabled", deployment);
            long now = ticker.nanos();
            admissions.modify(s -> s.disable(deployment, "insufficient_quota", now));
            requeue(call, scope, now, q.observed());
          }
          case AttemptOutcome.Failed f -> {
            last = f.failure();
            if (!f.retryable()) {
              scope.fail(f.settlement(), -1, -1);
              throw new UpstreamFailure(last);
            }
            retry(call, scope, f, last);
          }
        }
      }
    }
  }

  /** Waits for capacity; a refusal becomes the client's answer. */
  private ReservationScope admit(ProxyCall call) throws InterruptedException {
    long start = ticker.nanos();
    try {
      ReservationScope scope = admissions.scope(call.demand(), call.cancel());
      call.waited(scope.reservation().queueNanos());
      return scope;
    } catch (AdmissionRejectedException e) {
      call.waited(ticker.nanos() - start);
      throw refusal(call, e.rejected());
    }
  }

  /**
   * One attempt on {@code deployment}: sends, classifies the answer, relays it. Settles nothing.
   */
  private AttemptOutcome attempt(ProxyCall call, String deployment, Relay relay)
      throws InterruptedException {
    UpstreamTarget target = target(call, deployment);
    if (target == null) {
      // Removed by a reload since it was reserved: nothing sent, so not an attempt to report.
      return new AttemptOutcome.Failed(
          RetryReason.REMOVED,
          Settlement.UNCOUNTED,
          Failure.of(
              Relay.upstreamError(
                  502, "upstream_unreachable", "Deployment " + deployment + " was removed.")),
          true);
    }
    call.attemptOn(deployment);
    UpstreamResponse response;
    try {
      response = client.send(target.call(call.request()), call.cancel());
    } catch (UpstreamClient.UnreachableException e) {
      // Never sent: the deployment's window is not charged.
      return new AttemptOutcome.Failed(
          RetryReason.UNREACHABLE,
          Settlement.UNCOUNTED,
          Failure.of(
              Relay.upstreamError(
                  502,
                  "upstream_unreachable",
                  "Could not reach the upstream of deployment " + deployment + ".")),
          true);
    } catch (UpstreamClient.NotSentException e) {
      return new AttemptOutcome.ClientLeft(Settlement.UNCOUNTED, Usage.UNKNOWN);
    } catch (IOException e) {
      return relay.readFailed(call, deployment, e);
    }
    try (response) {
      return answer(call, deployment, response, relay);
    }
  }

  private AttemptOutcome answer(
      ProxyCall call, String deployment, UpstreamResponse response, Relay relay) {
    RateLimitObservation observed = UpstreamSignals.rateLimits(response::header);
    int status = response.status();
    String contentType = response.header("Content-Type").orElse("");
    // An upstream's error may echo its key (OpenAI's 401 does, masked): the client never sees it.
    byte[] errorBody =
        status >= 200 && status < 300 ? NO_BODY : redaction.body(readBounded(response));
    return switch (UpstreamAnswers.classify(status, contentType, errorBody)) {
      case UpstreamAnswers.Verdict.Success s -> {
        relayHeaders(call, response);
        yield s.stream()
            ? relay.stream(call, response, deployment, observed)
            : relay.whole(call, response, deployment, observed);
      }
      case UpstreamAnswers.Verdict.PassThrough p -> {
        relayHeaders(call, response);
        yield relay.passThrough(call, status, errorBody, p.clientError(), observed);
      }
      case UpstreamAnswers.Verdict.RateLimited r -> {
        long wait =
            UpstreamSignals.retryAfterNanos(response::header, r.message(), wallMillis.getAsLong());
        yield new AttemptOutcome.RateLimited(
            ticker.nanos() + Math.max(MIN_COOLDOWN_NANOS, wait > 0 ? wait : DEFAULT_COOLDOWN_NANOS),
            observed,
            new Failure(429, errorBody));
      }
      case UpstreamAnswers.Verdict.QuotaExhausted q ->
          new AttemptOutcome.QuotaExhausted(observed, new Failure(429, errorBody));
      case UpstreamAnswers.Verdict.TooLarge t ->
          new AttemptOutcome.Refused(
              new ApiError(
                  400, "invalid_request_error", t.message(), null, "request_too_large", -1),
              observed);
      case UpstreamAnswers.Verdict.Retryable r -> {
        LOG.debug("deployment {} answered {}; retrying", deployment, status);
        yield new AttemptOutcome.Failed(
            RetryReason.STATUS_5XX,
            Settlement.COUNTED,
            new Failure(status, errorBodyOr(errorBody, status, deployment)),
            true);
      }
      case UpstreamAnswers.Verdict.Invalid i ->
          new AttemptOutcome.Failed(
              RetryReason.INVALID_STATUS,
              Settlement.COUNTED,
              Failure.of(
                  Relay.upstreamError(
                      502,
                      "upstream_invalid",
                      "The upstream of deployment "
                          + deployment
                          + " answered with status "
                          + status
                          + ", which is not an answer.")),
              true);
    };
  }

  /** Ends the failed attempt and waits for the next one; throws when there is none. */
  private void retry(
      ProxyCall call, ReservationScope scope, AttemptOutcome.Failed failed, Failure last)
      throws InterruptedException {
    String failedOn = scope.reservation().deployment();
    long waitStart = ticker.nanos();
    try {
      Reservation next = scope.retry(failed.settlement());
      call.waited(next.admittedNanos() - waitStart);
    } catch (AdmissionRejectedException e) {
      call.waited(ticker.nanos() - waitStart);
      Admission.Reason reason = e.rejected().reason();
      if (reason == Admission.Reason.SHUTTING_DOWN
          || reason == Admission.Reason.TOO_LARGE
          || reason == Admission.Reason.CANCELLED) {
        throw refusal(call, e.rejected());
      }
      throw new UpstreamFailure(last);
    }
    observer.retried(failedOn, failed.reason());
  }

  /** Returns the reservation after an upstream 429 and waits, in front, for the next start. */
  private void requeue(
      ProxyCall call, ReservationScope scope, long coolDownUntilNanos, RateLimitObservation seen)
      throws InterruptedException {
    long waitStart = ticker.nanos();
    try {
      Reservation next = scope.requeue(coolDownUntilNanos, seen);
      call.waited(next.admittedNanos() - waitStart);
    } catch (AdmissionRejectedException e) {
      call.waited(ticker.nanos() - waitStart);
      throw refusal(call, e.rejected());
    }
  }

  /** The client's answer to a refusal (or, for a client that left, nothing). */
  private static RuntimeException refusal(ProxyCall call, Admission.Rejected rejected) {
    if (rejected.reason() == Admission.Reason.CANCELLED) {
      return call.shutDown()
          ? ErrorResponses.shuttingDown()
          : new ClientGone(call.cancel().reason());
    }
    Pipeline.rejected(call.record(), rejected.reason());
    return ErrorResponses.of(rejected);
  }

  /**
   * How to reach a deployment: from the routing table the request started with, or — for a
   * deployment a reload added since, which the scheduler may already hand out — the current one.
   */
  private @Nullable UpstreamTarget target(ProxyCall call, String deployment) {
    UpstreamTarget target = call.routing().targets().get(deployment);
    return target != null ? target : currentRouting.get().targets().get(deployment);
  }

  /**
   * The upstream headers the client sees. A value with a control character (a bare CR, once) is not
   * a header value at all: it is dropped, never relayed — it would end the header early, and the
   * HTTP server refuses it (that was Penstock's own 500).
   */
  private void relayHeaders(ProxyCall call, UpstreamResponse response) {
    for (String name : RELAYED_HEADERS) {
      response
          .header(name)
          .filter(UpstreamStage::printable)
          .ifPresent(value -> call.upstreamHeader(name, redaction.header(value)));
    }
    response
        .header("x-request-id")
        .filter(UpstreamStage::printable)
        .ifPresent(id -> call.upstreamHeader("x-upstream-request-id", redaction.header(id)));
  }

  private static boolean printable(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return false;
      }
    }
    return true;
  }

  private static void usage(ProxyCall call, Usage usage) {
    if (usage.known()) {
      call.record().usage(usage.promptTokens(), usage.completionTokens(), usage.cachedTokens());
    }
  }

  /** The upstream's error body when it is OpenAI-shaped JSON, else Penstock's own error. */
  private static byte[] errorBodyOr(byte[] body, int status, String deployment) {
    if (Failure.error(body).path("message").isTextual()) {
      return body;
    }
    return ErrorResponses.body(
        Relay.upstreamError(
            status,
            "upstream_error",
            "The upstream of deployment " + deployment + " answered " + status + "."));
  }

  private static byte[] readBounded(UpstreamResponse response) {
    try (InputStream in = response.body()) {
      return in.readNBytes(MAX_ERROR_BODY);
    } catch (IOException e) {
      return NO_BODY;
    }
  }
}
