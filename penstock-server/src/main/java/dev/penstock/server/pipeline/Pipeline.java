package dev.penstock.server.pipeline;

import dev.penstock.core.Admission;
import dev.penstock.core.Admissions;
import dev.penstock.core.time.Ticker;
import dev.penstock.server.cache.CacheService;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.telemetry.RequestObserver;
import dev.penstock.server.telemetry.RequestRecord;
import dev.penstock.server.tenant.Tenants;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * One proxied request's way, as a chain of {@link Stage}s assembled here, in order:
 *
 * <pre>
 * record ─► answer ─► caller ─► read ─► (tenant ─► cache ─► canary) ─► watch ─► embedding batch ─► upstream
 *   │         │         │         │                                   │          │                  └ admission (reserve, wait,
 *   │         │         │         │                                   │          │                    or 429 now) and attempts:
 *   │         │         │         │                                   │          │                    send, relay (SSE chunk by
 *   │         │         │         │                                   │          │                    chunk), retry / fail over
 *   │         │         │         │                                   │          │                    / requeue, settle
 *   │         │         │         │                                   │          └ concurrent embedding requests merged into
 *   │         │         │         │                                   │            one upstream call (when a window is set)
 *   │         │         │         │     cache: a hit answers here, before any capacity
 *   │         │         │         │        └ a client that leaves or stops reading cancels the call
 *   │         │         │         └ body, validation, served model, token estimate; then
 *   │         │         │           tenant: allowed models, the key's RPM/TPM and budget, cost
 *   │         │         └ caller (virtual key, 401), priority, deadline
 *   │         └ every exception becomes the client's answer (OpenAI's error shape), or silence
 *   └ the observers hear of the request once, when it ends
 * </pre>
 *
 * <p>Later capabilities add stages (the cache before {@code upstream}) instead of editing a long
 * method. See docs/concurrency.md for the threads.
 *
 * <p>Threading: {@link #handle} runs on the request's own virtual thread and blocks (parks) while
 * waiting for capacity and while reading the upstream. The routing table is swapped atomically on
 * reload; a request keeps the table it started with.
 */
public final class Pipeline {
  private final List<Stage> stages;
  private final Ticker ticker;
  private final LongSupplier wallMillis;
  private volatile Routing routing;

  /**
   * The routing table: which deployment is addressed how, and the request settings.
   *
   * @param retryTimeouts whether an attempt that timed out after reaching its upstream is retried
   * @param maxAnswerBytes the largest non-streamed upstream answer read
   * @param canaries per public model, the share of its traffic sent to another model
   * @param embeddings which models' embedding requests are merged, and how ({@code embeddings:})
   */
  public record Routing(
      Map<String, UpstreamTarget> targets,
      Set<String> models,
      RequestReader reader,
      long defaultTimeoutMillis,
      boolean retryTimeouts,
      long maxAnswerBytes,
      Map<String, GatewayConfig.Canary> canaries,
      EmbeddingBatching embeddings) {
    /** A table without embedding batching. */
    public Routing(
        Map<String, UpstreamTarget> targets,
        Set<String> models,
        RequestReader reader,
        long defaultTimeoutMillis,
        boolean retryTimeouts,
        long maxAnswerBytes,
        Map<String, GatewayConfig.Canary> canaries) {
      this(
          targets,
          models,
          reader,
          defaultTimeoutMillis,
          retryTimeouts,
          maxAnswerBytes,
          canaries,
          EmbeddingBatching.OFF);
    }
  }

  private Pipeline(Routing routing, Ticker ticker, LongSupplier wallMillis, List<Stage> stages) {
    this.routing = routing;
    this.ticker = ticker;
    this.wallMillis = wallMillis;
    this.stages = List.copyOf(stages);
  }

  /**
   * The gateway's pipeline.
   *
   * @param observer told of every request's end (metrics, access log, dashboard)
   * @param keepBodies whether request bodies go into the record ({@code logging.log_bodies})
   * @param watch watches clients while their requests are served
   * @param redact removes upstream keys from what an upstream's error carries to the client
   * @param tenants virtual keys, their limits and budgets, and pricing; null for none (tests)
   * @param cache the response cache; null for none (then every answer says {@code bypass})
   */
  public static Pipeline standard(
      Admissions admissions,
      dev.penstock.server.upstream.UpstreamClient client,
      Routing routing,
      Ticker ticker,
      LongSupplier wallMillis,
      RequestObserver observer,
      boolean keepBodies,
      ClientWatch watch,
      UnaryOperator<String> redact,
      @Nullable Tenants tenants,
      @Nullable CacheService cache) {
    return standard(
        admissions,
        client,
        routing,
        ticker,
        wallMillis,
        observer,
        keepBodies,
        watch,
        redact,
        tenants,
        cache,
        BatchClock.of(ticker));
  }

  /** The gateway's pipeline, its embedding batches waiting on {@code batchClock} (tests). */
  static Pipeline standard(
      Admissions admissions,
      dev.penstock.server.upstream.UpstreamClient client,
      Routing routing,
      Ticker ticker,
      LongSupplier wallMillis,
      RequestObserver observer,
      boolean keepBodies,
      ClientWatch watch,
      UnaryOperator<String> redact,
      @Nullable Tenants tenants,
      @Nullable CacheService cache,
      BatchClock batchClock) {
    Pipeline[] self = new Pipeline[1];
    List<Stage> stages = new ArrayList<>();
    stages.add(new RecordStage(observer, ticker));
    stages.add(new AnswerStage());
    stages.add(new CallerStage(tenants));
    stages.add(new ReadStage(keepBodies));
    if (tenants != null) {
      stages.add(new TenantStage(tenants, ticker));
    }
    if (cache != null) {
      stages.add(new CacheStage(cache, tenants, wallMillis));
    }
    stages.add(new CanaryStage());
    stages.add(new WatchStage(watch));
    UpstreamStage upstream =
        new UpstreamStage(
            admissions,
            client,
            ticker,
            wallMillis,
            observer,
            () -> self[0].routing,
            new ErrorRedaction(redact));
    stages.add(new EmbeddingBatchStage(upstream, observer, batchClock));
    stages.add(upstream);
    Pipeline pipeline = new Pipeline(routing, ticker, wallMillis, stages);
    self[0] = pipeline;
    return pipeline;
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
   * Serves one request under a new request id; see {@link #handle(Endpoint, ClientExchange,
   * String)}.
   */
  public void handle(Endpoint endpoint, ClientExchange client) {
    handle(endpoint, client, newRequestId());
  }

  /**
   * Serves one request; never throws for the client's or an upstream's failure — every failure
   * becomes an OpenAI-shaped answer. (An {@code UncheckedIOException} from a client that left while
   * an error was written passes through.) The observers hear of every request exactly once.
   */
  public void handle(Endpoint endpoint, ClientExchange client, String requestId) {
    handle(endpoint, client, requestId, null);
  }

  /**
   * Serves a request Penstock submits itself (a batch line, a queued message) as {@code caller},
   * which takes the place of the headers a client would send; otherwise as {@link #handle(Endpoint,
   * ClientExchange, String)}. Use a {@link BufferedExchange} to read the answer.
   */
  public void handle(
      Endpoint endpoint, ClientExchange client, String requestId, @Nullable InternalCaller caller) {
    long now = ticker.nanos();
    RequestRecord record =
        new RequestRecord(requestId, "/v1" + endpoint.path(), now, wallMillis.getAsLong());
    ProxyCall call =
        new ProxyCall(
            requestId,
            endpoint,
            new ObservedExchange(client, record, ticker),
            record,
            routing,
            now);
    if (caller != null) {
      call.internal(caller);
    }
    try {
      new Chain(stages, 0).proceed(call);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // AnswerStage answered it; keep the flag for the server
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

  /** A new request id: {@code req_} and 32 hex digits. */
  public static String newRequestId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return "req_"
        + HexFormat.of().toHexDigits(random.nextLong())
        + HexFormat.of().toHexDigits(random.nextLong());
  }
}
