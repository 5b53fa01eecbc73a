package dev.penstock.embedded;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.core.Admission;
import dev.penstock.core.AdmissionRejectedException;
import dev.penstock.core.Admissions;
import dev.penstock.core.CancelSignal;
import dev.penstock.core.Demand;
import dev.penstock.core.Reservation;
import dev.penstock.core.ReservationScope;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.core.limit.UpstreamSignals;
import dev.penstock.core.queue.Priority;
import dev.penstock.core.time.Ticker;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One call's way through the pool: reserve, send, classify the answer, and settle, retry, fail over
 * or requeue — the gateway's upstream stage (SPEC 3 and 4) without the client socket:
 *
 * <pre>
 * 2xx whole ───► settle with the answer's usage                              ─► answer
 * 2xx stream ──► hand the body over; settled when it ends or is closed       ─► answer
 * 429 limit ───► cool the deployment down, requeue in front (not a failure)  ─► again
 * 429 quota ───► disable the deployment, requeue for another                 ─► again
 * 429 too large► settle, uncounted                                 ─► 400 request_too_large
 * 5xx, reset ──► retry elsewhere or after a backoff while attempts and time allow
 * other 4xx ───► settle, passed through as the upstream sent it
 * </pre>
 *
 * <p>Every reservation lives in a {@link ReservationScope}: each path settles its attempt exactly
 * once; the {@code finally} settles what an exception (an interrupt) left open, and the scope
 * counts anything beyond that as a leak. A streamed answer takes its scope along, and its {@link
 * SettlingStream} settles it.
 */
final class CallLoop {
  private static final Logger LOG = LoggerFactory.getLogger(CallLoop.class);
  private static final long DEFAULT_COOLDOWN_NANOS = 1_000_000_000L;

  /** The shortest cool-down after an upstream 429, so that a "retry now" answer cannot loop. */
  private static final long MIN_COOLDOWN_NANOS = 100_000_000L;

  private static final int MAX_ERROR_BODY = 1 << 20;
  private static final int MAX_ANSWER_BODY = 64 << 20;

  private final Admissions admissions;
  private final Map<String, Target> targets;
  private final Settings settings;
  private final Ticker ticker;
  private final Observer observer;
  private final Penstock.Streams streams;

  CallLoop(
      Admissions admissions,
      Map<String, Target> targets,
      Settings settings,
      Observer observer,
      Penstock.Streams streams) {
    this.admissions = admissions;
    this.targets = Map.copyOf(targets);
    this.settings = settings;
    this.ticker = admissions.ticker();
    this.observer = observer;
    this.streams = streams;
  }

  /** What one attempt leads to. */
  private sealed interface Next {
    /**
     * The caller's answer; the attempt's reservation is settled, or handed to the answer's stream
     * ({@code streamed}), which settles it when it ends.
     */
    record Done(PenstockResponse response, boolean streamed) implements Next {
      Done(PenstockResponse response) {
        this(response, false);
      }
    }

    /** A failure to retry: settle it so, then try again (elsewhere, or after a backoff). */
    record Retry(Settlement settlement, String reason, PenstockResponse failure) implements Next {}

    /** The upstream's own 429: cool its deployment down and wait in front for the next start. */
    record Requeue(long coolDownUntilNanos, RateLimitObservation observed, PenstockResponse failure)
        implements Next {}
  }

  /** The state of one call across its attempts. */
  private static final class Call {
    final PenstockRequest request;
    final RequestPeek peek;
    final CancelSignal cancel;
    int attempts;
    long queueNanos;
    @Nullable String deployment;

    Call(PenstockRequest request, RequestPeek peek, CancelSignal cancel) {
      this.request = request;
      this.peek = peek;
      this.cancel = cancel;
    }

    Map<String, List<String>> headers() {
      Map<String, List<String>> headers = new LinkedHashMap<>();
      if (deployment != null) {
        headers.put("x-penstock-deployment", List.of(deployment));
      }
      headers.put("x-penstock-attempts", List.of(Integer.toString(attempts)));
      headers.put("x-penstock-queue-ms", List.of(Long.toString(queueNanos / 1_000_000)));
      return headers;
    }
  }

  PenstockResponse run(
      PenstockRequest request,
      RequestPeek peek,
      Priority priority,
      long timeoutNanos,
      CancelSignal cancel)
      throws InterruptedException {
    Call call = new Call(request, peek, cancel);
    long start = ticker.nanos();
    Demand demand =
        new Demand(
            peek.model(),
            "embedded",
            priority,
            peek.promptTokens(),
            peek.outputTokens(),
            saturatingAdd(start, timeoutNanos));
    ReservationScope scope;
    try {
      scope = admissions.scope(demand, cancel);
    } catch (AdmissionRejectedException e) {
      return refused(call, e.rejected());
    }
    boolean handedOver = false;
    try {
      call.queueNanos += scope.reservation().queueNanos();
      observer.waited(peek.model(), priority, call.queueNanos);
      while (true) {
        if (cancel.cancelled()) {
          // Admitted in the moment Penstock closed: never sent.
          scope.settle(Settlement.UNCOUNTED, -1, -1, RateLimitObservation.NONE);
          return ended(call, Errors.shuttingDown(call.headers()));
        }
        Next next = attempt(call, scope);
        switch (next) {
          case Next.Done d -> {
            handedOver = d.streamed();
            return d.response();
          }
          case Next.Retry r -> {
            long before = ticker.nanos();
            String failedOn = scope.reservation().deployment();
            try {
              Reservation again = scope.retry(r.settlement());
              call.queueNanos += again.admittedNanos() - before;
              observer.retried(failedOn, r.reason());
            } catch (AdmissionRejectedException e) {
              Admission.Reason reason = e.rejected().reason();
              if (reason == Admission.Reason.SHUTTING_DOWN
                  || reason == Admission.Reason.TOO_LARGE
                  || reason == Admission.Reason.CANCELLED) {
                return refused(call, e.rejected());
              }
              return ended(call, r.failure()); // no attempt left in time: the last failure
            }
          }
          case Next.Requeue q -> {
            long before = ticker.nanos();
            try {
              Reservation again = scope.requeue(q.coolDownUntilNanos(), q.observed());
              call.queueNanos += again.admittedNanos() - before;
            } catch (AdmissionRejectedException e) {
              return refused(call, e.rejected());
            }
          }
        }
      }
    } finally {
      if (!handedOver && scope.holds()) {
        // An exception (an interrupt) between the send and its verdict: the upstream may have
        // the request, so it stays counted; no verdict on the deployment.
        scope.leave(Settlement.COUNTED, -1, -1);
      }
      if (!handedOver) {
        scope.close();
      }
    }
  }

  /** One attempt on the reserved deployment. Settles it, or says what comes next. */
  private Next attempt(Call call, ReservationScope scope) throws InterruptedException {
    String deployment = scope.reservation().deployment();
    Target target = targets.get(deployment);
    call.attempts++;
    call.deployment = deployment;
    if (target == null) {
      // Cannot happen: the topology and the targets are built from the same deployments.
      return new Next.Retry(
          Settlement.UNCOUNTED,
          "removed",
          Errors.upstream(502, "upstream_unreachable", "Unknown deployment.", call.headers()));
    }
    String upstreamModel = target.upstreamModel(call.peek.model());
    byte[] body = call.peek.bodyFor(upstreamModel, call.request.body());
    HttpResponse<InputStream> response;
    CompletableFuture<HttpResponse<InputStream>> sending =
        target
            .client()
            .sendAsync(
                target.request(call.request, call.peek.model(), body),
                HttpResponse.BodyHandlers.ofInputStream());
    try (CancelSignal.Registration _ = call.cancel.onCancel(() -> sending.cancel(true))) {
      response = sending.get();
    } catch (InterruptedException e) {
      sending.cancel(true);
      throw e;
    } catch (CancellationException e) {
      scope.leave(Settlement.COUNTED, -1, -1);
      return new Next.Done(ended(call, Errors.shuttingDown(call.headers())));
    } catch (ExecutionException e) {
      return sendFailed(call, scope, deployment, e.getCause());
    }
    return answer(call, scope, deployment, response);
  }

  private Next sendFailed(
      Call call, ReservationScope scope, String deployment, @Nullable Throwable cause) {
    if (cause instanceof HttpConnectTimeoutException
        || cause instanceof ConnectException
        || cause instanceof UnresolvedAddressException
        || cause instanceof java.net.UnknownHostException) {
      // Never sent: the deployment's window is not charged.
      return new Next.Retry(
          Settlement.UNCOUNTED,
          "unreachable",
          Errors.upstream(
              502,
              "upstream_unreachable",
              "Could not reach the upstream of deployment " + deployment + ".",
              call.headers()));
    }
    if (cause instanceof HttpTimeoutException) {
      PenstockResponse timedOut =
          Errors.upstream(
              504,
              "upstream_timeout",
              "The upstream of deployment " + deployment + " did not answer in time.",
              call.headers());
      if (settings.retryTimeouts()) {
        return new Next.Retry(Settlement.COUNTED, "timeout", timedOut);
      }
      // The upstream may still be generating; a retry would be billed again (retry.on_timeout).
      scope.fail(Settlement.COUNTED, -1, -1);
      return new Next.Done(ended(call, timedOut));
    }
    LOG.debug("deployment {}: the call failed on the way: {}", deployment, String.valueOf(cause));
    return new Next.Retry(
        Settlement.COUNTED,
        "broken",
        Errors.upstream(
            502,
            "upstream_error",
            "The connection to the upstream of deployment " + deployment + " broke.",
            call.headers()));
  }

  private Next answer(
      Call call, ReservationScope scope, String deployment, HttpResponse<InputStream> response) {
    RateLimitObservation observed =
        UpstreamSignals.rateLimits(name -> response.headers().firstValue(name));
    int status = response.statusCode();
    Map<String, List<String>> headers = headers(response, call);
    if (status >= 200 && status < 300) {
      String type = response.headers().firstValue("content-type").orElse("");
      if (type.regionMatches(true, 0, "text/event-stream", 0, 17)) {
        return new Next.Done(stream(call, scope, deployment, response, headers, observed), true);
      }
      byte[] body;
      try (InputStream in = response.body()) {
        body = in.readNBytes(MAX_ANSWER_BODY);
      } catch (IOException e) {
        return new Next.Retry(
            Settlement.COUNTED,
            "broken",
            Errors.upstream(
                502,
                "upstream_error",
                "The answer of deployment " + deployment + " broke off.",
                call.headers()));
      }
      Usage usage = Usage.ofBody(body);
      scope.settle(Settlement.COMPLETED, usage.promptTokens(), usage.completionTokens(), observed);
      tokens(call, deployment, usage);
      return new Next.Done(
          ended(call, new PenstockResponse(status, headers, new ByteArrayInputStream(body))));
    }
    byte[] errorBody = readBounded(response);
    PenstockResponse failure =
        new PenstockResponse(status, headers, new ByteArrayInputStream(errorBody));
    if (status == 429) {
      return tooMany(call, scope, deployment, response, errorBody, failure, observed);
    }
    if (status == 500 || status == 502 || status == 503 || status == 504) {
      LOG.debug("deployment {} answered {}; retrying", deployment, status);
      return new Next.Retry(Settlement.COUNTED, "status_5xx", failure);
    }
    if (status >= 400 && status < 600) {
      scope.settle(Settlement.COUNTED, -1, -1, observed);
      return new Next.Done(ended(call, failure));
    }
    return new Next.Retry(
        Settlement.COUNTED,
        "invalid_status",
        Errors.upstream(
            502,
            "upstream_invalid",
            "The upstream of deployment " + deployment + " answered with status " + status + ".",
            call.headers()));
  }

  private Next tooMany(
      Call call,
      ReservationScope scope,
      String deployment,
      HttpResponse<InputStream> response,
      byte[] errorBody,
      PenstockResponse failure,
      RateLimitObservation observed) {
    JsonNode error;
    try {
      error = RequestPeek.JSON.readTree(errorBody).path("error");
    } catch (IOException | RuntimeException e) {
      error = RequestPeek.JSON.missingNode();
    }
    String message = error.path("message").asText("");
    String code = error.path("code").isTextual() ? error.path("code").asText() : null;
    String type = error.path("type").isTextual() ? error.path("type").asText() : null;
    observer.upstreamRateLimited(deployment);
    return switch (UpstreamSignals.classify(code, type, message)) {
      case RATE_LIMIT -> {
        long wait =
            UpstreamSignals.retryAfterNanos(
                name -> response.headers().firstValue(name), message, System.currentTimeMillis());
        LOG.debug("deployment {} answered 429; cooling down", deployment);
        yield new Next.Requeue(
            ticker.nanos() + Math.max(MIN_COOLDOWN_NANOS, wait > 0 ? wait : DEFAULT_COOLDOWN_NANOS),
            observed,
            failure);
      }
      case INSUFFICIENT_QUOTA -> {
        LOG.warn("deployment {} reported insufficient_quota: disabled", deployment);
        long now = ticker.nanos();
        admissions.modify(s -> s.disable(deployment, "insufficient_quota", now));
        yield new Next.Requeue(now, observed, failure);
      }
      case TOO_LARGE -> {
        scope.settle(Settlement.UNCOUNTED, -1, -1, observed);
        yield new Next.Done(
            ended(
                call,
                Errors.answer(
                    400,
                    "invalid_request_error",
                    "request_too_large",
                    message,
                    -1,
                    call.headers())));
      }
    };
  }

  /** Hands a streamed answer over; its reservation is settled when the stream ends. */
  private PenstockResponse stream(
      Call call,
      ReservationScope scope,
      String deployment,
      HttpResponse<InputStream> response,
      Map<String, List<String>> headers,
      RateLimitObservation observed) {
    int status = response.statusCode();
    SettlingStream[] self = new SettlingStream[1];
    SettlingStream body =
        new SettlingStream(
            response.body(),
            (end, usage) -> {
              try {
                switch (end) {
                  case COMPLETED ->
                      scope.settle(
                          Settlement.COMPLETED,
                          usage.promptTokens(),
                          usage.completionTokens(),
                          observed);
                  case BROKE ->
                      scope.fail(
                          Settlement.COUNTED, usage.promptTokens(), usage.completionTokens());
                  case LEFT ->
                      scope.leave(
                          Settlement.COUNTED, usage.promptTokens(), usage.completionTokens());
                }
              } finally {
                scope.close();
                streams.closed(self[0]);
              }
              tokens(call, deployment, usage);
              observer.ended(
                  call.peek.model(),
                  deployment,
                  status,
                  end == SettlingStream.End.BROKE ? "upstream_error" : "success");
            });
    self[0] = body;
    streams.opened(body);
    return new PenstockResponse(status, headers, body);
  }

  private PenstockResponse refused(Call call, Admission.Rejected rejected) {
    observer.rejected(call.peek.model(), rejected.reason().name().toLowerCase(Locale.ROOT));
    return ended(call, Errors.of(rejected, call.headers()));
  }

  private PenstockResponse ended(Call call, PenstockResponse response) {
    observer.ended(
        call.peek.model(),
        call.deployment == null ? "none" : call.deployment,
        response.status(),
        outcome(response.status()));
    return response;
  }

  private static String outcome(int status) {
    if (status < 400) {
      return "success";
    }
    if (status == 429 || status == 503) {
      return "rejected";
    }
    return status < 500 ? "client_error" : "upstream_error";
  }

  private void tokens(Call call, String deployment, Usage usage) {
    if (usage.known()) {
      observer.tokens(
          call.peek.model(), deployment, usage.promptTokens(), usage.completionTokens());
    }
  }

  private static Map<String, List<String>> headers(HttpResponse<?> response, Call call) {
    Map<String, List<String>> headers = new LinkedHashMap<>();
    response
        .headers()
        .map()
        .forEach(
            (name, values) -> {
              if (!name.startsWith(":")) { // HTTP/2 pseudo-headers
                headers.put(name.toLowerCase(Locale.ROOT), List.copyOf(values));
              }
            });
    headers.putAll(call.headers());
    return java.util.Collections.unmodifiableMap(headers);
  }

  private static byte[] readBounded(HttpResponse<InputStream> response) {
    try (InputStream in = response.body()) {
      return in.readNBytes(MAX_ERROR_BODY);
    } catch (IOException e) {
      return new byte[0];
    }
  }

  private static long saturatingAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
  }
}
