package dev.penstock.server.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.core.AdmissionRejectedException;
import dev.penstock.core.Admissions;
import dev.penstock.core.Demand;
import dev.penstock.core.Reservation;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.core.queue.Priority;
import dev.penstock.core.time.Ticker;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.OpenAiRequest;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.SseRelay;
import dev.penstock.server.openai.UpstreamSignals;
import dev.penstock.server.openai.Usage;
import dev.penstock.server.upstream.UpstreamClient;
import dev.penstock.server.upstream.UpstreamResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxied request's way, start to end:
 *
 * <pre>
 * read body ─► peek (model, stream, output cap, prompt → token estimate) ─► tenant, priority,
 * deadline ─► admission (a deployment with room, or wait, or 429 now) ─► upstream call
 *   ─► 429 rate limit: cool the deployment down, back to the front of the queue (not a failure)
 *   ─► 429 insufficient quota: disable the deployment, back to the queue for another
 *   ─► 429 request too large: the client's error (400)
 *   ─► answer: relayed as it arrives (SSE chunk by chunk) ─► reservation reconciled with usage
 * </pre>
 *
 * <p>Threading: called on the request's own virtual thread; it blocks (parks) while waiting for
 * capacity and while reading the upstream. Every reservation taken is settled exactly once on every
 * path, including exceptions. The routing table is swapped atomically on reload; a request keeps
 * the table it started with.
 */
public final class Pipeline {
  private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);
  private static final int MAX_ERROR_BODY = 64 * 1024;
  private static final long DEFAULT_COOLDOWN_NANOS = 1_000_000_000L;
  private static final List<String> RELAYED_HEADERS =
      List.of("Content-Type", "openai-processing-ms", "openai-version");

  private final Admissions admissions;
  private final UpstreamClient client;
  private final Ticker ticker;
  private final LongSupplier wallMillis;
  private volatile Routing routing;

  /** The routing table: which deployment is addressed how, and the request settings. */
  public record Routing(
      Map<String, UpstreamTarget> targets,
      java.util.Set<String> models,
      RequestReader reader,
      long defaultTimeoutMillis) {}

  public Pipeline(
      Admissions admissions,
      UpstreamClient client,
      Routing routing,
      Ticker ticker,
      LongSupplier wallMillis) {
    this.admissions = admissions;
    this.client = client;
    this.routing = routing;
    this.ticker = ticker;
    this.wallMillis = wallMillis;
  }

  /** Installs a new routing table (hot reload); requests in flight keep theirs. */
  public void routing(Routing next) {
    routing = next;
  }

  /** Serves one request; never throws — every failure becomes an OpenAI-shaped answer. */
  public void handle(Endpoint endpoint, ClientExchange exchange) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("x-request-id", requestId());
    Routing table = routing;
    try {
      OpenAiRequest request = table.reader().read(endpoint, exchange.body());
      if (!table.models().contains(request.model())) {
        throw ApiError.modelNotFound(request.model());
      }
      Demand demand =
          new Demand(
              request.model(),
              tenant(exchange),
              priority(exchange),
              request.promptTokens(),
              request.outputTokens(),
              ticker.nanos() + timeoutMillis(exchange, table) * 1_000_000);
      Reservation reservation = acquire(demand);
      new Attempts(request, reservation, exchange, headers, table).run();
    } catch (ApiError e) {
      ErrorResponses.send(exchange, e, headers);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      ErrorResponses.send(exchange, shuttingDown(), headers);
    }
  }

  private Reservation acquire(Demand demand) throws InterruptedException {
    try {
      return admissions.acquire(demand);
    } catch (AdmissionRejectedException e) {
      throw ErrorResponses.of(e.rejected());
    }
  }

  /** The attempts of one admitted request, until an answer is relayed or an error is final. */
  private final class Attempts {
    final OpenAiRequest request;
    final ClientExchange exchange;
    final Map<String, String> headers;
    final Routing table;
    Reservation reservation;
    int attempts = 1;
    long queueNanos;

    Attempts(
        OpenAiRequest request,
        Reservation reservation,
        ClientExchange exchange,
        Map<String, String> headers,
        Routing table) {
      this.request = request;
      this.reservation = reservation;
      this.exchange = exchange;
      this.headers = headers;
      this.table = table;
      this.queueNanos = reservation.queueNanos();
    }

    void run() throws InterruptedException {
      while (true) {
        UpstreamTarget target = table.targets().get(reservation.deployment());
        UpstreamResponse response;
        try {
          response = client.send(target.call(request));
        } catch (UpstreamClient.UnreachableException e) {
          settle(Settlement.UNCOUNTED, Usage.UNKNOWN, RateLimitObservation.NONE);
          throw upstreamFailure(
              502,
              "upstream_unreachable",
              "Could not reach the upstream of deployment " + target.name() + ".");
        } catch (IOException e) {
          settle(Settlement.COUNTED, Usage.UNKNOWN, RateLimitObservation.NONE);
          throw upstreamFailure(
              502,
              "upstream_error",
              "The upstream of deployment "
                  + target.name()
                  + " failed: "
                  + e.getClass().getSimpleName()
                  + ".");
        }
        RateLimitObservation observed = UpstreamSignals.rateLimits(response::header);
        if (response.status() == 429) {
          handle429(response, observed);
          continue;
        }
        headers.put("x-penstock-deployment", reservation.deployment());
        headers.put("x-penstock-attempts", Integer.toString(attempts));
        headers.put("x-penstock-queue-ms", Long.toString(queueNanos / 1_000_000));
        for (String name : RELAYED_HEADERS) {
          response.header(name).ifPresent(value -> headers.put(name, value));
        }
        response.header("x-request-id").ifPresent(id -> headers.put("x-upstream-request-id", id));
        boolean sse = response.header("Content-Type").orElse("").startsWith("text/event-stream");
        if (response.status() / 100 == 2 && sse) {
          relayStream(response, observed);
        } else {
          relayWhole(response, observed);
        }
        return;
      }
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
          requeue(now, observed);
        }
        case RATE_LIMIT -> {
          long wait =
              UpstreamSignals.retryAfterNanos(response::header, message, wallMillis.getAsLong());
          LOG.debug("deployment {} answered 429; cooling down {} ms", deployment, wait / 1_000_000);
          requeue(now + (wait > 0 ? wait : DEFAULT_COOLDOWN_NANOS), observed);
        }
      }
    }

    void requeue(long coolDownUntilNanos, RateLimitObservation observed)
        throws InterruptedException {
      long waitStart = ticker.nanos();
      try {
        reservation = admissions.reacquire(reservation, coolDownUntilNanos, observed);
      } catch (AdmissionRejectedException e) {
        throw ErrorResponses.of(e.rejected());
      }
      queueNanos += Math.max(0, reservation.admittedNanos() - waitStart);
      attempts++;
    }

    void relayWhole(UpstreamResponse response, RateLimitObservation observed) {
      byte[] body;
      try (response) {
        body = readAll(response);
      } catch (IOException e) {
        settle(Settlement.COUNTED, Usage.UNKNOWN, observed);
        throw upstreamFailure(
            502,
            "upstream_error",
            "The upstream answer of deployment " + reservation.deployment() + " broke off.");
      }
      int status = response.status();
      Usage usage = status / 100 == 2 ? usageOf(body) : Usage.UNKNOWN;
      settle(status / 100 == 2 ? Settlement.COMPLETED : Settlement.COUNTED, usage, observed);
      exchange.send(status, headers, body);
    }

    void relayStream(UpstreamResponse response, RateLimitObservation observed) {
      SseRelay relay = new SseRelay();
      OutputStream out;
      try {
        out = exchange.stream(response.status(), headers);
      } catch (IOException e) {
        response.close();
        settle(Settlement.COUNTED, Usage.UNKNOWN, observed);
        return;
      }
      byte[] buffer = new byte[8192];
      try (response;
          InputStream in = response.body()) {
        for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
          relay.accept(buffer, 0, n);
          try {
            out.write(buffer, 0, n);
            out.flush();
          } catch (IOException clientGone) {
            settle(Settlement.COUNTED, relay.usage(), observed);
            return;
          }
        }
      } catch (IOException upstreamBroke) {
        endBroken(
            out,
            relay,
            observed,
            "The upstream stream of deployment " + reservation.deployment() + " broke off.");
        return;
      }
      if (!relay.finished() && !relay.sawErrorEvent()) {
        endBroken(
            out,
            relay,
            observed,
            "The upstream stream of deployment "
                + reservation.deployment()
                + " ended before it was complete.");
        return;
      }
      settle(Settlement.COMPLETED, relay.usage(), observed);
      closeQuietly(out);
    }

    /** A stream that began cannot become an HTTP error: it ends with an SSE error event. */
    void endBroken(
        OutputStream out, SseRelay relay, RateLimitObservation observed, String message) {
      settle(Settlement.COUNTED, relay.usage(), observed);
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
      admissions.settle(
          reservation, settlement, usage.promptTokens(), usage.completionTokens(), observed);
    }
  }

  private static Usage usageOf(byte[] body) {
    try {
      return Usage.of(RequestReader.JSON.readTree(body).path("usage"));
    } catch (IOException e) {
      return Usage.UNKNOWN;
    }
  }

  /** Reads a whole answer, exactly sized when the upstream declared its length. */
  private static byte[] readAll(UpstreamResponse response) throws IOException {
    InputStream in = response.body();
    long declared = response.header("Content-Length").map(Pipeline::parseLength).orElse(-1L);
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

  private static ApiError shuttingDown() {
    return new ApiError(
        503, "penstock_unavailable", "Penstock is shutting down.", null, "shutting_down", 1000);
  }

  private static Priority priority(ClientExchange exchange) {
    String value = exchange.header("x-penstock-priority").orElse("normal");
    try {
      return Priority.parse(value);
    } catch (IllegalArgumentException e) {
      throw ApiError.invalid(
          "Invalid x-penstock-priority header: expected high, normal or low.",
          "x-penstock-priority",
          "invalid_header");
    }
  }

  private static long timeoutMillis(ClientExchange exchange, Routing table) {
    String value = exchange.header("x-penstock-timeout-ms").orElse(null);
    if (value == null) {
      return table.defaultTimeoutMillis();
    }
    try {
      long millis = Long.parseLong(value.trim());
      if (millis >= 1 && millis <= 86_400_000) {
        return millis;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw ApiError.invalid(
        "Invalid x-penstock-timeout-ms header: expected whole milliseconds from 1 to 86400000.",
        "x-penstock-timeout-ms",
        "invalid_header");
  }

  /**
   * In open mode the tenant is the caller's bearer token — hashed, so that fairness can tell
   * callers apart without the token itself ever being kept.
   */
  private static String tenant(ClientExchange exchange) {
    String credential =
        exchange.header("Authorization").or(() -> exchange.header("api-key")).orElse("");
    if (credential.isEmpty()) {
      return "anonymous";
    }
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(credential.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }

  private static String requestId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return "req_"
        + HexFormat.of().toHexDigits(random.nextLong())
        + HexFormat.of().toHexDigits(random.nextLong());
  }
}
