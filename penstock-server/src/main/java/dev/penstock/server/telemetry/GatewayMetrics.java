package dev.penstock.server.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/*
 * Design
 *
 * Request metrics are recorded once per request, from its RequestRecord, when it ends. Meters are
 * looked up in small ConcurrentHashMaps keyed by their label values, so that a request costs a few
 * map hits and atomic adds and never builds a Tags list. Every label value is bounded by the
 * configuration: a model or deployment name from the config file (or ""), a status class, an
 * outcome, a priority or a reason from a fixed enum. No label ever carries a key, a tenant, a
 * request id or anything else a client controls.
 *
 * The pool's state (limits, use, circuits, queue) is not pushed on every change: a scrape takes one
 * PoolSnapshot and registers the gauge rows from it (MultiGauge, overwriting), so deployments added
 * or removed by a reload appear and disappear with the next scrape.
 *
 * Latency histograms use a fixed, short list of buckets (fourteen), chosen for LLM calls that take
 * from milliseconds to minutes, instead of Micrometer's default of seventy-odd.
 */

/**
 * Penstock's Prometheus metrics (the contract is in docs/operations.md): requests, latency, tokens,
 * retries, upstream 429s, rejections, the pool's state, and the JVM's and process's own.
 *
 * <p>Thread-safe. {@link #completed} is called by every request's thread; {@link #scrape} by the
 * {@code /metrics} handler.
 */
public final class GatewayMetrics implements RequestObserver, AutoCloseable {
  private static final Duration[] LATENCY_BUCKETS = {
    Duration.ofMillis(5),
    Duration.ofMillis(10),
    Duration.ofMillis(25),
    Duration.ofMillis(50),
    Duration.ofMillis(100),
    Duration.ofMillis(250),
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofMillis(2500),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10),
    Duration.ofSeconds(25),
    Duration.ofSeconds(60),
    Duration.ofSeconds(120)
  };
  private static final Duration[] OVERHEAD_BUCKETS = {
    Duration.ofNanos(100_000),
    Duration.ofNanos(250_000),
    Duration.ofNanos(500_000),
    Duration.ofMillis(1),
    Duration.ofNanos(2_500_000),
    Duration.ofMillis(5),
    Duration.ofMillis(10),
    Duration.ofMillis(25),
    Duration.ofMillis(50),
    Duration.ofMillis(100)
  };

  /**
   * The state objects of the function counters and gauges: Micrometer holds them only weakly, so a
   * lambda or method reference passed to a builder alone would be collected and its meter would
   * read 0 (or NaN) from then on.
   */
  private final List<Object> held = new java.util.concurrent.CopyOnWriteArrayList<>();

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Supplier<PoolSnapshot> pool;
  private final JvmGcMetrics gc = new JvmGcMetrics();

  private record RequestKey(String model, String deployment, String statusClass, Outcome outcome) {}

  private record TokenKey(String model, String deployment) {}

  private record RetryKey(String deployment, RetryReason reason) {}

  private record ModelKey(String model, String other) {}

  private final Map<RequestKey, Counter> requests = new ConcurrentHashMap<>();
  private final Map<TokenKey, Counter[]> tokens = new ConcurrentHashMap<>();
  private final Map<String, Counter> rateLimited = new ConcurrentHashMap<>();
  private final Map<RetryKey, Counter> retries = new ConcurrentHashMap<>();
  private final Map<ModelKey, Counter> rejected = new ConcurrentHashMap<>();
  private final Map<ModelKey, Counter> cacheResults = new ConcurrentHashMap<>();
  private final Map<String, Counter[]> cacheSaved = new ConcurrentHashMap<>();
  private final Map<ModelKey, Timer> durations = new ConcurrentHashMap<>();
  private final Map<String, Timer> firstTokens = new ConcurrentHashMap<>();
  private final Map<ModelKey, Timer> queueWaits = new ConcurrentHashMap<>();
  private final Timer overhead;
  private final Map<KeyLabel, Counter> keyRequests = new ConcurrentHashMap<>();
  private final Map<String, Counter> keyCosts = new ConcurrentHashMap<>();
  private final Map<String, Counter> modelCosts = new ConcurrentHashMap<>();
  private final Map<String, Counter> unpriced = new ConcurrentHashMap<>();
  // Per model: merged embedding calls sent, and the requests they served.
  private final Map<String, Counter[]> embeddingBatches = new ConcurrentHashMap<>();
  private final java.util.Set<String> keyNames = ConcurrentHashMap.newKeySet();
  private final int maxKeyLabels;

  private record KeyLabel(String key, String statusClass) {}

  /** The label of key names beyond {@code tenants.metrics_max_keys}. */
  static final String OTHER_KEYS = "other";

  private final List<PoolGauge> poolGauges = new ArrayList<>();

  /** A per-deployment gauge, its rows refreshed from each scrape's snapshot. */
  private record PoolGauge(
      MultiGauge gauge, Function<PoolSnapshot, List<MultiGauge.Row<?>>> rows) {}

  /**
   * @param pool takes a snapshot of the pool's state (called on every scrape)
   * @param leakedReservations how many reservations their requests left unsettled (0 but for bugs)
   */
  public GatewayMetrics(Supplier<PoolSnapshot> pool, LongSupplier leakedReservations) {
    this(pool, leakedReservations, 100);
  }

  /**
   * @param maxKeyLabels the most virtual key names used as label values; later names count as
   *     {@code other} (a label per key would let key creation grow the series without bound)
   */
  public GatewayMetrics(
      Supplier<PoolSnapshot> pool, LongSupplier leakedReservations, int maxKeyLabels) {
    this.pool = pool;
    this.maxKeyLabels = maxKeyLabels;
    held.add(leakedReservations);
    FunctionCounter.builder(
            "penstock.reservations.leaked", leakedReservations, leaks -> (double) leaks.getAsLong())
        .description(
            "Reservations a request left unsettled, settled when it ended (a bug if not 0)")
        .register(registry);
    this.overhead =
        Timer.builder("penstock.gateway.overhead")
            .description("Time spent in Penstock itself: total less queue wait and upstream time")
            .serviceLevelObjectives(OVERHEAD_BUCKETS)
            .register(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    registerPoolGauges();
  }

  private void registerPoolGauges() {
    perDeployment(
        "penstock.deployment.rpm.limit", "Requests per minute allowed", null, d -> d.rpmLimit());
    perDeployment(
        "penstock.deployment.tpm.limit", "Tokens per minute allowed", null, d -> d.tpmLimit());
    perDeployment(
        "penstock.deployment.requests.in.window",
        "Requests charged in the current 60 s window",
        null,
        d -> d.requestsInWindow());
    perDeployment(
        "penstock.deployment.tokens.in.window",
        "Tokens charged in the current 60 s window",
        null,
        d -> d.tokensInWindow());
    perDeployment(
        "penstock.deployment.enabled",
        "1 when in rotation, 0 when disabled or drained",
        null,
        d -> d.enabled() ? 1 : 0);
    perDeployment(
        "penstock.deployment.in.flight",
        "Requests being sent to the deployment now",
        null,
        d -> d.inFlight());
    perDeployment(
        "penstock.deployment.cooldown",
        "Time left of a cooldown after an upstream 429",
        "seconds",
        d -> d.cooldownNanos() / 1e9);
    pool(
        "penstock.deployment.utilization.ratio",
        "Use of the current window against the limit (1 = at the limit)",
        null,
        snapshot -> {
          List<MultiGauge.Row<?>> rows = new ArrayList<>();
          for (PoolSnapshot.Deployment d : snapshot.deployments()) {
            rows.add(row(d, "resource", "requests", ratio(d.requestsInWindow(), d.rpmLimit())));
            rows.add(row(d, "resource", "tokens", ratio(d.tokensInWindow(), d.tpmLimit())));
          }
          return rows;
        });
    pool(
        "penstock.deployment.circuit.state",
        "1 for the circuit's current state (closed, half_open, open), 0 for the others",
        null,
        snapshot -> {
          List<MultiGauge.Row<?>> rows = new ArrayList<>();
          for (PoolSnapshot.Deployment d : snapshot.deployments()) {
            for (String state : List.of("closed", "half_open", "open")) {
              rows.add(row(d, "state", state, state.equals(d.circuit()) ? 1 : 0));
            }
          }
          return rows;
        });
    pool(
        "penstock.deployment.upstream.remaining.requests",
        "The upstream's last x-ratelimit-remaining-requests",
        null,
        snapshot ->
            snapshot.deployments().stream()
                .filter(d -> d.upstreamRemainingRequests() >= 0)
                .<MultiGauge.Row<?>>map(d -> row(d, d.upstreamRemainingRequests()))
                .toList());
    pool(
        "penstock.deployment.upstream.remaining.tokens",
        "The upstream's last x-ratelimit-remaining-tokens",
        null,
        snapshot ->
            snapshot.deployments().stream()
                .filter(d -> d.upstreamRemainingTokens() >= 0)
                .<MultiGauge.Row<?>>map(d -> row(d, d.upstreamRemainingTokens()))
                .toList());
    pool(
        "penstock.queue.depth",
        "Requests waiting for capacity",
        null,
        snapshot -> {
          List<MultiGauge.Row<?>> rows = new ArrayList<>();
          snapshot
              .queue()
              .forEach(
                  (model, byPriority) ->
                      byPriority.forEach(
                          (priority, n) ->
                              rows.add(
                                  MultiGauge.Row.of(
                                      Tags.of("model", model, "priority", priority), n))));
          return rows;
        });
  }

  private void perDeployment(
      String name,
      String description,
      @Nullable String unit,
      java.util.function.ToDoubleFunction<PoolSnapshot.Deployment> value) {
    pool(
        name,
        description,
        unit,
        snapshot ->
            snapshot.deployments().stream()
                .<MultiGauge.Row<?>>map(d -> row(d, value.applyAsDouble(d)))
                .toList());
  }

  private void pool(
      String name,
      String description,
      @Nullable String unit,
      Function<PoolSnapshot, List<MultiGauge.Row<?>>> rows) {
    MultiGauge gauge =
        MultiGauge.builder(name).description(description).baseUnit(unit).register(registry);
    poolGauges.add(new PoolGauge(gauge, rows));
  }

  private static MultiGauge.Row<?> row(PoolSnapshot.Deployment d, Number value) {
    return MultiGauge.Row.of(Tags.of("model", d.model(), "deployment", d.name()), value);
  }

  private static MultiGauge.Row<?> row(
      PoolSnapshot.Deployment d, String key, String label, Number value) {
    return MultiGauge.Row.of(
        Tags.of("model", d.model(), "deployment", d.name(), key, label), value);
  }

  private static double ratio(long used, long limit) {
    return limit > 0 ? (double) used / limit : 0;
  }

  @Override
  public void retried(String deployment, RetryReason reason) {
    retries
        .computeIfAbsent(
            new RetryKey(deployment, reason),
            k ->
                Counter.builder("penstock.retries")
                    .description("Failed attempts that were retried, by why they failed")
                    .tags("deployment", k.deployment(), "reason", k.reason().label())
                    .register(registry))
        .increment();
  }

  @Override
  public void upstreamRateLimited(String deployment) {
    rateLimited
        .computeIfAbsent(
            deployment,
            d ->
                Counter.builder("penstock.upstream.rate.limited")
                    .description("429 answers received from upstreams (goal: 0)")
                    .tags("deployment", d)
                    .register(registry))
        .increment();
  }

  @Override
  public void embeddingBatch(String model, int requests) {
    Counter[] pair =
        embeddingBatches.computeIfAbsent(
            model,
            m ->
                new Counter[] {
                  Counter.builder("penstock.embedding.batches")
                      .description("Merged embedding requests sent upstream (docs/embeddings.md)")
                      .tags("model", m)
                      .register(registry),
                  Counter.builder("penstock.embedding.batched.requests")
                      .description("Embedding requests served by a merged upstream request")
                      .tags("model", m)
                      .register(registry)
                });
    pair[0].increment();
    pair[1].increment(requests);
  }

  @Override
  public void completed(RequestRecord r) {
    String model = r.model();
    Outcome outcome = r.outcome();
    requests
        .computeIfAbsent(
            new RequestKey(model, r.deployment(), statusClass(r.status()), outcome),
            this::requestCounter)
        .increment();
    durations
        .computeIfAbsent(new ModelKey(model, outcome.label()), this::durationTimer)
        .record(r.totalNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
    if (r.firstByteNanos() >= 0 && outcome == Outcome.OK) {
      firstTokens
          .computeIfAbsent(model, this::firstTokenTimer)
          .record(r.firstByteNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
    }
    if (!model.isEmpty()) {
      queueWaits
          .computeIfAbsent(new ModelKey(model, r.priority()), this::queueTimer)
          .record(r.queueNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
    }
    overhead.record(r.overheadNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
    if (!r.deployment().isEmpty() && (r.promptTokens() > 0 || r.completionTokens() > 0)) {
      Counter[] pair = tokens.computeIfAbsent(new TokenKey(model, r.deployment()), this::tokenPair);
      // Token counts are far below 2^53, so the counter's double holds them exactly.
      pair[0].increment((double) Math.max(0, r.promptTokens()));
      pair[1].increment((double) Math.max(0, r.completionTokens()));
    }
    if (!model.isEmpty()) {
      cacheResults.computeIfAbsent(new ModelKey(model, r.cache()), this::cacheCounter).increment();
    }
    if (r.savedTokens() > 0) {
      Counter[] saved = cacheSaved.computeIfAbsent(model, this::savedPair);
      saved[0].increment((double) r.savedTokens());
      saved[1].increment(r.savedUsd());
    }
    String reason = r.rejectedReason();
    if (reason != null) {
      rejected.computeIfAbsent(new ModelKey(model, reason), this::rejectedCounter).increment();
    }
    double cost = r.costUsd();
    if (cost > 0) {
      modelCosts.computeIfAbsent(model, this::modelCostCounter).increment(cost);
    } else if (!r.priced() && r.promptTokens() > 0) {
      unpriced.computeIfAbsent(model, this::unpricedCounter).increment();
    }
    if (!r.keyName().isEmpty()) {
      String key = keyLabel(r.keyName());
      keyRequests
          .computeIfAbsent(new KeyLabel(key, statusClass(r.status())), this::keyRequestCounter)
          .increment();
      if (cost > 0) {
        keyCosts.computeIfAbsent(key, this::keyCostCounter).increment(cost);
      }
    }
  }

  /**
   * The usage ledger's writer: rows committed, and rows waiting to be (a number that only grows
   * means the database is failing; the log says why).
   */
  public void bindLedger(LongSupplier rowsWritten, LongSupplier rowsPending) {
    held.add(rowsWritten);
    held.add(rowsPending);
    FunctionCounter.builder(
            "penstock.ledger.rows.written", rowsWritten, rows -> (double) rows.getAsLong())
        .description("Usage ledger rows committed to the database")
        .register(registry);
    io.micrometer.core.instrument.Gauge.builder(
            "penstock.ledger.rows.pending", rowsPending, rows -> (double) rows.getAsLong())
        .description("Usage ledger rows recorded but not yet committed")
        .register(registry);
  }

  /**
   * The response cache: entries and bytes held in the process, and calls to the shared tier that
   * failed or timed out (each a miss).
   */
  public void bindCache(LongSupplier entries, LongSupplier bytes, LongSupplier redisErrors) {
    held.add(entries);
    held.add(bytes);
    held.add(redisErrors);
    io.micrometer.core.instrument.Gauge.builder(
            "penstock.cache.entries", entries, e -> (double) e.getAsLong())
        .description("Answers held in the in-process response cache")
        .register(registry);
    io.micrometer.core.instrument.Gauge.builder(
            "penstock.cache.bytes", bytes, b -> (double) b.getAsLong())
        .description("Bytes of answers held in the in-process response cache")
        .baseUnit("bytes")
        .register(registry);
    FunctionCounter.builder("penstock.cache.redis.errors", redisErrors, e -> (double) e.getAsLong())
        .description("Shared cache (Redis) calls that failed or timed out, or read junk: misses")
        .register(registry);
  }

  /**
   * Cluster mode: whether Redis answers (1) or every deployment is on its fallback share (0), the
   * lease calls made and failed, and the start slots granted to this instance.
   */
  public void bindCluster(
      LongSupplier connected, LongSupplier calls, LongSupplier failures, LongSupplier granted) {
    held.add(connected);
    held.add(calls);
    held.add(failures);
    held.add(granted);
    io.micrometer.core.instrument.Gauge.builder(
            "penstock.cluster.connected", connected, c -> (double) c.getAsLong())
        .description("1 while Redis answers lease calls, 0 while on the fallback share")
        .register(registry);
    FunctionCounter.builder("penstock.cluster.redis.calls", calls, c -> (double) c.getAsLong())
        .description("Lease calls to Redis (one script run for every deployment that needed one)")
        .register(registry);
    FunctionCounter.builder(
            "penstock.cluster.redis.failures", failures, c -> (double) c.getAsLong())
        .description("Lease calls that failed or timed out")
        .register(registry);
    FunctionCounter.builder("penstock.cluster.slots.granted", granted, c -> (double) c.getAsLong())
        .description("Start slots the cluster leased to this instance")
        .register(registry);
  }

  /**
   * The RabbitMQ ingress: messages of {@code queue} by outcome ({@code answered}, {@code
   * dead_lettered}, {@code requeued}), read from {@code messages}.
   */
  public void bindQueue(String queue, java.util.function.ToLongFunction<String> messages) {
    held.add(messages);
    for (String outcome : java.util.List.of("answered", "dead_lettered", "requeued")) {
      FunctionCounter.builder(
              "penstock.queue.messages", messages, m -> (double) m.applyAsLong(outcome))
          .description("Messages consumed from a queue, by what became of them")
          .tags("queue", queue, "outcome", outcome)
          .register(registry);
    }
  }

  /**
   * The Batch API: unfinished batches by status and their lines waiting or running (read from the
   * store at each scrape: one row per unfinished batch), and lines the executor ended, by outcome
   * ({@code done}, {@code failed}) or gave back to run later ({@code retried}).
   */
  public void bindBatches(
      java.util.function.Supplier<java.util.List<dev.penstock.server.batch.BatchRecord>> unfinished,
      java.util.function.ToLongFunction<String> lines) {
    held.add(unfinished);
    held.add(lines);
    for (String status :
        java.util.List.of("validating", "in_progress", "cancelling", "finalizing")) {
      io.micrometer.core.instrument.Gauge.builder(
              "penstock.batches",
              unfinished,
              u -> u.get().stream().filter(b -> b.status().wireName().equals(status)).count())
          .description("Batches not yet finished, by status")
          .tags("status", status)
          .register(registry);
    }
    io.micrometer.core.instrument.Gauge.builder(
            "penstock.batch.lines.pending",
            unfinished,
            u ->
                u.get().stream()
                    .filter(b -> !b.status().terminal())
                    .mapToLong(b -> (long) b.total() - b.completed() - b.failed())
                    .sum())
        .description("Lines of unfinished batches not yet done or failed (waiting or running)")
        .register(registry);
    for (String outcome : java.util.List.of("done", "failed", "retried")) {
      FunctionCounter.builder("penstock.batch.lines", lines, l -> (double) l.applyAsLong(outcome))
          .description("Batch lines the executor ended (done, failed) or gave back to run later")
          .tags("outcome", outcome)
          .register(registry);
    }
  }

  private Counter cacheCounter(ModelKey k) {
    return Counter.builder("penstock.cache.requests")
        .description(
            "Proxied requests by what the response cache did: hit, semantic-hit, miss, bypass")
        .tags("model", k.model(), "result", k.other())
        .register(registry);
  }

  private Counter[] savedPair(String model) {
    return new Counter[] {
      Counter.builder("penstock.cache.saved.tokens")
          .description("Tokens cache hits did not spend (the cached answers' usage)")
          .tags("model", model)
          .register(registry),
      Counter.builder("penstock.cache.saved.usd")
          .description("What cache hits did not cost, in USD, at the pricing table's prices")
          .tags("model", model)
          .register(registry)
    };
  }

  /** The key's name as a label value, or {@code other} once the cap is reached. */
  private String keyLabel(String name) {
    if (keyNames.contains(name)) {
      return name;
    }
    if (keyNames.size() < maxKeyLabels) {
      keyNames.add(name); // a race may admit a few past the cap: bounded all the same
      return name;
    }
    return OTHER_KEYS;
  }

  private Counter keyRequestCounter(KeyLabel k) {
    return Counter.builder("penstock.key.requests")
        .description("Requests per virtual key (by name), by status class")
        .tags("key", k.key(), "status_class", k.statusClass())
        .register(registry);
  }

  private Counter keyCostCounter(String key) {
    return Counter.builder("penstock.key.cost.usd")
        .description("What each virtual key's requests cost, in USD, from the pricing table")
        .tags("key", key)
        .register(registry);
  }

  private Counter modelCostCounter(String model) {
    return Counter.builder("penstock.cost.usd")
        .description("What requests cost, in USD, from the pricing table")
        .tags("model", model)
        .register(registry);
  }

  private Counter unpricedCounter(String model) {
    return Counter.builder("penstock.unpriced.requests")
        .description("Requests for a model without a price: charged 0")
        .tags("model", model)
        .register(registry);
  }

  /** The Prometheus text exposition, with the pool's gauges as of now. */
  public String scrape() {
    PoolSnapshot snapshot = pool.get();
    for (PoolGauge g : poolGauges) {
      g.gauge().register(g.rows().apply(snapshot), true);
    }
    return registry.scrape();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    gc.close();
    registry.close();
  }

  private Counter requestCounter(RequestKey k) {
    return Counter.builder("penstock.requests")
        .description("Requests served, by how they ended")
        .tags(
            "model",
            k.model(),
            "deployment",
            k.deployment(),
            "status_class",
            k.statusClass(),
            "outcome",
            k.outcome().label())
        .register(registry);
  }

  private Timer durationTimer(ModelKey k) {
    return Timer.builder("penstock.request.duration")
        .description("Time from a request's arrival until its answer ended, queue wait included")
        .tags("model", k.model(), "outcome", k.other())
        .serviceLevelObjectives(LATENCY_BUCKETS)
        .register(registry);
  }

  private Timer firstTokenTimer(String model) {
    return Timer.builder("penstock.time.to.first.token")
        .description("Time until the answer's first byte reached the client (streams: first chunk)")
        .tags("model", model)
        .serviceLevelObjectives(LATENCY_BUCKETS)
        .register(registry);
  }

  private Timer queueTimer(ModelKey k) {
    return Timer.builder("penstock.queue.wait")
        .description("Time a request waited for capacity, retry backoffs included")
        .tags("model", k.model(), "priority", k.other())
        .serviceLevelObjectives(LATENCY_BUCKETS)
        .register(registry);
  }

  private Counter[] tokenPair(TokenKey k) {
    return new Counter[] {tokenCounter(k, "input"), tokenCounter(k, "output")};
  }

  private Counter tokenCounter(TokenKey k, String type) {
    return Counter.builder("penstock.tokens")
        .description(
            "Tokens used, as the upstream reported them (input: the estimate if it did not)")
        .tags(Tags.of("model", k.model(), "deployment", k.deployment(), "type", type))
        .register(registry);
  }

  private Counter rejectedCounter(ModelKey k) {
    return Counter.builder("penstock.rejected")
        .description("Requests Penstock refused for capacity, by reason")
        .tags("model", k.model(), "reason", k.other())
        .register(registry);
  }

  private static String statusClass(int status) {
    return status <= 0 ? "none" : (status / 100) + "xx";
  }
}
