package dev.penstock.server.pipeline;

import dev.penstock.core.Admission;
import dev.penstock.core.AdmissionRejectedException;
import dev.penstock.core.Admissions;
import dev.penstock.core.Demand;
import dev.penstock.core.Reservation;
import dev.penstock.core.queue.Priority;
import dev.penstock.core.time.Ticker;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.OpenAiRequest;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.telemetry.Outcome;
import dev.penstock.server.telemetry.RequestObserver;
import dev.penstock.server.telemetry.RequestRecord;
import dev.penstock.server.upstream.UpstreamClient;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;

/**
 * One proxied request's way, start to end:
 *
 * <pre>
 * read body ─► peek (model, stream, output cap, prompt → token estimate) ─► tenant, priority,
 * deadline ─► admission (a deployment with room, or wait, or 429 now) ─► upstream call
 *   ─► 429 rate limit: cool the deployment down, back to the front of the queue (not a failure)
 *   ─► 429 insufficient quota: disable the deployment, back to the queue for another
 *   ─► 429 request too large: the client's error (400)
 *   ─► connection failure, timeout, 500/502/503/504, a stream failing before its first chunk:
 *      the attempt failed (counted against the deployment's circuit); retried on another
 *      deployment at once, or after a backoff, while attempts and the deadline allow; else the
 *      last failure is the answer
 *   ─► other 4xx: passed through untouched
 *   ─► answer: relayed as it arrives (SSE chunk by chunk) ─► reservation reconciled with usage
 *   ─► a stream broken after its first chunk reached the client: an SSE error event ends it
 * </pre>
 *
 * <p>Threading: called on the request's own virtual thread; it blocks (parks) while waiting for
 * capacity and while reading the upstream. Every reservation taken is settled exactly once on every
 * path, including exceptions. The routing table is swapped atomically on reload; a request keeps
 * the table it started with. The attempts themselves are {@link Attempts}.
 */
public final class Pipeline {
  // Package-private: the Attempts of each request use them.
  final Admissions admissions;
  final UpstreamClient client;
  final Ticker ticker;
  final LongSupplier wallMillis;
  final RequestObserver observer;
  private final boolean keepBodies;
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
    this(admissions, client, routing, ticker, wallMillis, RequestObserver.NONE, false);
  }

  /**
   * @param observer told of every request's end (metrics, access log, dashboard)
   * @param keepBodies whether request bodies go into the record ({@code logging.log_bodies})
   */
  public Pipeline(
      Admissions admissions,
      UpstreamClient client,
      Routing routing,
      Ticker ticker,
      LongSupplier wallMillis,
      RequestObserver observer,
      boolean keepBodies) {
    this.admissions = admissions;
    this.client = client;
    this.routing = routing;
    this.ticker = ticker;
    this.wallMillis = wallMillis;
    this.observer = observer;
    this.keepBodies = keepBodies;
  }

  /** The routing table in force. */
  Routing routing() {
    return routing;
  }

  /** Installs a new routing table (hot reload); requests in flight keep theirs. */
  public void routing(Routing next) {
    routing = next;
  }

  /**
   * Serves one request; never throws for the client's or an upstream's failure — every failure
   * becomes an OpenAI-shaped answer. (An {@code UncheckedIOException} from a client that left
   * passes through.) The observer hears of every request exactly once, however it ended.
   */
  public void handle(Endpoint endpoint, ClientExchange client) {
    String id = requestId();
    RequestRecord record =
        new RequestRecord(id, "/v1" + endpoint.path(), ticker.nanos(), wallMillis.getAsLong());
    ClientExchange exchange = new ObservedExchange(client, record, ticker);
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("x-request-id", id);
    Routing table = routing;
    try {
      byte[] body = exchange.body(); // read once: the exchange streams it from the socket
      if (keepBodies) {
        record.body(body);
      }
      OpenAiRequest request = table.reader().read(endpoint, body);
      if (!table.models().contains(request.model())) {
        throw ApiError.modelNotFound(request.model());
      }
      record.request(request.model(), request.stream());
      Priority priority = priority(exchange);
      String tenant = tenant(exchange);
      record.caller(tenant, priority.name().toLowerCase(Locale.ROOT));
      Demand demand =
          new Demand(
              request.model(),
              tenant,
              priority,
              request.promptTokens(),
              request.outputTokens(),
              ticker.nanos() + timeoutMillis(exchange, table) * 1_000_000);
      record.usage(request.promptTokens(), -1);
      Reservation reservation = acquire(demand, record);
      new Attempts(this, request, reservation, exchange, headers, table, record).run();
    } catch (Attempts.FinalFailure e) {
      Map<String, String> all = new LinkedHashMap<>(headers);
      all.put("Content-Type", "application/json");
      all.put("x-penstock-attempts", Integer.toString(e.attempts));
      record.failed(Outcome.UPSTREAM_ERROR, e.failure.code(), e.failure.message());
      exchange.send(e.failure.status(), all, e.failure.body());
    } catch (ApiError e) {
      record.failed(outcomeOf(e, record), e.code(), e.getMessage());
      ErrorResponses.send(exchange, e, headers);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      record.failed(Outcome.OVERLOADED, "shutting_down", "Penstock is shutting down.");
      ErrorResponses.send(exchange, shuttingDown(), headers);
    } finally {
      record.end(ticker.nanos());
      observer.completed(record);
    }
  }

  private static Outcome outcomeOf(ApiError e, RequestRecord record) {
    if (record.rejectedReason() != null && e.status() != 400) {
      return Outcome.OVERLOADED;
    }
    return e.status() >= 400 && e.status() < 500 ? Outcome.CLIENT_ERROR : Outcome.UPSTREAM_ERROR;
  }

  private Reservation acquire(Demand demand, RequestRecord record) throws InterruptedException {
    long start = ticker.nanos();
    try {
      Reservation reservation = admissions.acquire(demand);
      record.addQueueNanos(reservation.queueNanos());
      return reservation;
    } catch (AdmissionRejectedException e) {
      record.addQueueNanos(ticker.nanos() - start);
      rejected(record, e.rejected().reason());
      throw ErrorResponses.of(e.rejected());
    }
  }

  /**
   * Notes a refusal for capacity, with its reason, for the rejected-requests counter. A request
   * whose attempts all failed ({@code FAILED}) is an upstream error, not a refusal.
   */
  static void rejected(RequestRecord record, Admission.Reason reason) {
    String label =
        switch (reason) {
          case OVERLOADED -> "deadline";
          case QUEUE_FULL -> "queue_full";
          case TOO_LARGE -> "too_large";
          case NO_DEPLOYMENT -> "no_deployment";
          case SHUTTING_DOWN -> "shutting_down";
          case FAILED, CANCELLED -> null;
        };
    if (label != null) {
      record.rejected(label);
    }
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
