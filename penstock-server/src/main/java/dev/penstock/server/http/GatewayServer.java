package dev.penstock.server.http;

import dev.penstock.core.Admissions;
import dev.penstock.core.time.Ticker;
import dev.penstock.server.batch.BatchRunner;
import dev.penstock.server.batch.BatchService;
import dev.penstock.server.batch.BatchStore;
import dev.penstock.server.batch.BatchValidator;
import dev.penstock.server.batch.FileService;
import dev.penstock.server.batch.FileStore;
import dev.penstock.server.batch.PipelineLineExecutor;
import dev.penstock.server.cache.CacheService;
import dev.penstock.server.cluster.ClusterLimits;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.config.Secret;
import dev.penstock.server.health.ActiveHealthChecks;
import dev.penstock.server.openai.TokenEstimator;
import dev.penstock.server.pipeline.ClientWatch;
import dev.penstock.server.pipeline.Pipeline;
import dev.penstock.server.pipeline.ProxyCall;
import dev.penstock.server.pipeline.RoutingTables;
import dev.penstock.server.queue.RabbitIngress;
import dev.penstock.server.telemetry.BuildInfo;
import dev.penstock.server.telemetry.Redactor;
import dev.penstock.server.telemetry.RequestObserver;
import dev.penstock.server.telemetry.Telemetry;
import dev.penstock.server.tenant.LedgerObserver;
import dev.penstock.server.tenant.LedgerWriter;
import dev.penstock.server.tenant.Storage;
import dev.penstock.server.tenant.Tenants;
import dev.penstock.server.tenant.VirtualKeys;
import dev.penstock.server.upstream.JdkUpstreamClient;
import dev.penstock.server.upstream.PooledHttp1Client;
import dev.penstock.server.upstream.UpstreamClient;
import dev.penstock.server.upstream.UpstreamOptions;
import io.helidon.webserver.WebServer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running gateway: Helidon's server on virtual threads in front of the {@link Pipeline}, the
 * {@link Admissions} scheduler and the upstream client, with what the routes answer in {@link
 * GatewayRoutes}. This class is the lifecycle: {@link Builder#start} wires and starts it, {@link
 * #reload} installs a new configuration without dropping requests in flight, {@link #drain} and
 * {@link #close} stop it gracefully.
 *
 * <p>The builder takes the clock and the upstream client, so that tests run the whole server in
 * memory against a scripted upstream and on a fake ticker.
 */
public final class GatewayServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GatewayServer.class);

  /** How long requests cut at the end of the grace period get to write their last answer. */
  private static final long ENDING_NANOS = 5_000_000_000L;

  /** How often the client watch looks for clients that left. */
  private static final long CLIENT_WATCH_PERIOD_NANOS = 200_000_000L;

  private final TokenEstimator tokens = new TokenEstimator();
  private final Admissions admissions;
  private final UpstreamClient client;
  private final Pipeline pipeline;
  private final ActiveHealthChecks healthChecks;
  private final Telemetry telemetry;
  private final ClientWatch clientWatch;
  private final SlowRequestGuard slowRequests;
  private final InFlight inFlight = new InFlight();
  private volatile boolean draining;
  private final WebServer server;
  private final Tenants tenants;
  private final CacheService cache;
  private final BatchService batches;
  private @Nullable BatchRunner batchRunner;
  private volatile GatewayConfig config;
  // The configured upstream keys, which the redactor reads for every relayed header: listed once
  // per configuration, not per use.
  private volatile List<String> upstreamKeys;
  private final @Nullable RabbitIngress rabbit;
  private @Nullable ClusterLimits cluster;

  /** Builds a gateway; only the configuration is required. */
  public static Builder builder(GatewayConfig config) {
    return new Builder(config);
  }

  /**
   * The options of the upstream clients from {@code upstream:}, with the proxy environment
   * variables ({@code HTTPS_PROXY}, {@code HTTP_PROXY}, {@code NO_PROXY}) where it sets none.
   *
   * @throws IllegalArgumentException when the CA file cannot be read, or a proxy URL of the
   *     environment is not valid (the message names the variable, never its value)
   */
  public static UpstreamOptions upstreamOptions(GatewayConfig.UpstreamNetwork upstream) {
    Secret proxy = upstream.proxy();
    try {
      UpstreamOptions options =
          UpstreamOptions.of(
              upstream.caFile(),
              proxy == null ? null : proxy.reveal(),
              upstream.noProxy(),
              upstream.http2(),
              System::getenv);
      if (options.proxies().hasCredentials()) {
        // before any java.net.http client exists: the HTTP/2 path sends through one
        JdkUpstreamClient.allowBasicProxyCredentialsOnTunnels();
      }
      return options;
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("upstream.ca_file: " + e.getMessage(), e);
    }
  }

  /** Starts a gateway on the system clock with Penstock's upstream client. */
  public static GatewayServer start(GatewayConfig config) {
    return builder(config).start();
  }

  /** What a gateway is made of; the defaults are production's. */
  public static final class Builder {
    private final GatewayConfig config;
    private Ticker ticker = Ticker.system();
    private LongSupplier wallMillis = System::currentTimeMillis;
    private @Nullable UpstreamClient upstreamClient;
    private boolean dispatcher = true;
    private long clientWatchPeriodNanos = CLIENT_WATCH_PERIOD_NANOS;
    private long keyWindowNanos = 60_000_000_000L;
    private boolean batchExecution = true;

    private Builder(GatewayConfig config) {
      this.config = Objects.requireNonNull(config);
    }

    /** The monotonic clock of scheduling and timing. */
    public Builder ticker(Ticker value) {
      ticker = value;
      return this;
    }

    /** The wall clock of timestamps (logs, the dashboard) and of {@code Retry-After} dates. */
    public Builder wallClock(LongSupplier millis) {
      wallMillis = millis;
      return this;
    }

    /** The upstream client; the gateway closes it when it stops. */
    public Builder upstreamClient(UpstreamClient value) {
      upstreamClient = value;
      return this;
    }

    /**
     * Whether the scheduler's dispatcher thread runs (default). Tests on a fake ticker turn it off
     * and call {@code admissions().dispatchNow()} after moving time.
     */
    public Builder dispatcher(boolean value) {
      dispatcher = value;
      return this;
    }

    /** How often the client watch sweeps; 0 = never by itself (tests sweep it themselves). */
    public Builder clientWatchPeriod(Duration period) {
      clientWatchPeriodNanos = period.toNanos();
      return this;
    }

    /**
     * The window a virtual key's own RPM and TPM are counted over: a minute, as providers count.
     * Tests shorten it, so that a client's retry after a key's {@code 429} succeeds in seconds.
     */
    public Builder keyWindow(Duration window) {
      keyWindowNanos = window.toNanos();
      return this;
    }

    /**
     * Whether batches are executed (default). Tests of the Files and Batches API alone turn it off:
     * batches then stay {@code in_progress} with their lines pending.
     */
    public Builder batchExecution(boolean value) {
      batchExecution = value;
      return this;
    }

    /** Starts the gateway; it accepts connections when this returns. */
    public GatewayServer start() {
      return new GatewayServer(this);
    }
  }

  private GatewayServer(Builder b) {
    this.config = b.config;
    this.upstreamKeys = upstreamKeys(b.config);
    GatewayConfig initial = b.config;
    // First, so that a database another gateway holds, or a corrupt one, stops the start before
    // anything listens; closed again if anything after it fails.
    this.tenants = openTenants(initial.tenancy(), b.wallMillis, b.keyWindowNanos);
    BatchService openedBatches = null;
    try {
      openedBatches = openBatches(initial, tenants, b.wallMillis, () -> this.config);
      this.batches = openedBatches;
      this.admissions = new Admissions(RoutingTables.topology(initial), b.ticker, b.dispatcher);
      GatewayConfig.Cluster clusterSettings = initial.cluster();
      if (clusterSettings != null) {
        // Before any request: from here on every deployment starts requests only on leases from
        // the cluster (or its fallback share).
        this.cluster =
            ClusterLimits.start(
                clusterSettings,
                admissions,
                b.ticker::nanos,
                RoutingTables.WINDOW_MILLIS + initial.defaults().pacingGuardMillis(),
                tenants,
                initial.tenancy().postgresUrl() != null,
                b.wallMillis);
      }
      this.client =
          b.upstreamClient != null
              ? b.upstreamClient
              : new PooledHttp1Client(upstreamOptions(initial.upstream()));
      this.cache = CacheService.of(initial.cache(), b.ticker);
      Pipeline.Routing routing = RoutingTables.routing(initial, tokens);
      Redactor redactor = new Redactor(() -> this.upstreamKeys);
      this.telemetry =
          new Telemetry(
              initial.observability(),
              admissions,
              b.wallMillis,
              redactor,
              BuildInfo.current().version(),
              initial.tenancy().metricsMaxKeys());
      telemetry
          .metrics()
          .ifPresent(
              m -> {
                m.bindLedger(tenants.writer()::rowsWritten, tenants.writer()::rowsPending);
                m.bindCache(
                    () -> cache.stats().entries(),
                    () -> cache.stats().bytes(),
                    () -> cache.stats().redisErrors());
                ClusterLimits leases = cluster;
                if (leases != null) {
                  m.bindCluster(
                      () -> leases.connected() ? 1 : 0,
                      leases::calls,
                      leases::failures,
                      leases::granted);
                }
              });
      LongSupplier writeTimeout =
          () -> this.config.defaults().clientWriteTimeoutMillis() * 1_000_000;
      this.clientWatch =
          b.clientWatchPeriodNanos > 0
              ? ClientWatch.start(b.ticker, writeTimeout, b.clientWatchPeriodNanos)
              : ClientWatch.manual(b.ticker, writeTimeout);
      this.pipeline =
          Pipeline.standard(
              admissions,
              client,
              routing,
              b.ticker,
              b.wallMillis,
              RequestObserver.both(telemetry.observer(), new LedgerObserver(tenants.writer())),
              initial.observability().logBodies(),
              clientWatch,
              redactor,
              tenants,
              cache);
      this.healthChecks = new ActiveHealthChecks(admissions);
      healthChecks.install(routing.targets().values());
      admissions.onHealthChange(
          change ->
              LOG.warn(
                  "deployment {}: circuit {} -> {}",
                  change.deployment(),
                  change.from().name().toLowerCase(Locale.ROOT),
                  change.to().name().toLowerCase(Locale.ROOT)));
      admissions.onLeak(
          r ->
              LOG.error(
                  "a request ended without settling its reservation on deployment {}; settled now"
                      + " (penstock_reservations_leaked_total counts these: a bug, please report it)",
                  r.deployment()));
      if (!ClientSockets.available()) {
        LOG.info(
            "clients that leave while their request waits are noticed only when it is answered: {}",
            ClientSockets.unavailableReason());
      }
      this.slowRequests =
          new SlowRequestGuard(
              () -> this.config.defaults().requestHeadTimeoutMillis() * 1_000_000,
              () -> this.config.defaults().requestBodyTimeoutMillis() * 1_000_000);
      int maxConnections = ConnectionLimit.of(initial.defaults().maxConnections());
      // Batch lines run through the pipeline at priority batch, on spare capacity only. The
      // runner first gives back the claims a stopped gateway left (single node only: on shared
      // storage they may be another instance's, and expire instead), then resumes every batch;
      // batches left validating are validated again. Before the server listens: a database that
      // fails here stops the start.
      if (b.batchExecution) {
        BatchRunner runner =
            new BatchRunner(
                batches.store(),
                batches.files().fileStore(),
                new PipelineLineExecutor(pipeline, initial.batches()),
                initial.batches(),
                new MillisClock(b.wallMillis),
                tenants.storage().shared());
        this.batchRunner = runner;
        telemetry
            .metrics()
            .ifPresent(m -> m.bindBatches(batches.store()::unfinished, runner::lines));
        batches.setWakeUp(runner::wake);
        runner.setRevalidate(batches::revalidate);
        batches.setProgress(runner::linesPerMinute);
        runner.start();
      }
      batches.resume();
      AdminApi adminApi = new AdminApi(admissions, () -> this.config.adminKey());
      BatchRoutes batchRoutes = new BatchRoutes(batches, tenants, adminApi);
      GatewayRoutes routes =
          new GatewayRoutes(
              pipeline,
              adminApi,
              telemetry,
              () -> this.config,
              inFlight,
              () -> draining,
              this::ready,
              slowRequests,
              tenants,
              cache,
              () -> batchRoutes.dashboard(b.wallMillis.getAsLong()));
      this.server =
          WebServer.builder()
              .host(initial.host())
              .port(initial.port())
              .backlog(8192)
              .maxTcpConnections(maxConnections)
              // The body limit is max_body_bytes, enforced (and reloadable) in HelidonExchange.
              .maxPayloadSize(-1)
              // Exactly one protocol: with a single candidate Helidon answers a garbled request
              // line
              // through the direct handlers; with several it closes the connection without a word.
              .protocolsDiscoverServices(false)
              .addProtocol(HttpLimits.http1(slowRequests))
              .idleConnectionTimeout(Duration.ofMillis(initial.defaults().keepAliveTimeoutMillis()))
              .idleConnectionPeriod(
                  Duration.ofMillis(
                      Math.max(1_000, initial.defaults().keepAliveTimeoutMillis() / 5)))
              .directHandlers(HttpLimits.directHandlers())
              .shutdownGracePeriod(Duration.ofSeconds(2)) // Penstock drains first; see close()
              // Helidon's own hook would stop the server on SIGTERM alongside Penstock's, cutting
              // every request in flight after its 2 s grace: the launcher's hook calls close().
              .shutdownHook(false)
              .connectionOptions(socket -> socket.tcpNoDelay(true))
              // Helidon's NIO socket wrapper keeps two 8 KB buffers a connection, its plain one
              // one:
              // -Dpenstock.serverNio=false trades some throughput for memory (docs/install.md).
              .useNio(Boolean.parseBoolean(System.getProperty("penstock.serverNio", "true")))
              .routing(
                  r -> {
                    // Before the gateway's own routes, which end with the catch-all.
                    batchRoutes.register(r);
                    ClusterLimits leases = cluster;
                    if (leases != null) {
                      r.get(
                          "/admin/cluster", (req, res) -> routes.adminJson(req, res, leases::json));
                    }
                    routes.register(r);
                  })
              .build()
              .start();
      LOG.info(
          "penstock listening on http://{}:{}/v1 with {} models, {} deployments; at most {} client"
              + " connections (of {} file descriptors)",
          initial.host(),
          server.port(),
          initial.models().size(),
          initial.models().values().stream().mapToInt(m -> m.deployments().size()).sum(),
          maxConnections,
          ConnectionLimit.maxDescriptors());
      LOG.info(
          "tenants: {} virtual keys in {}; {}",
          tenants.keys().all().size(),
          tenants.storage().describe(),
          tenants.authRequired()
              ? "every /v1 request needs a virtual key"
              : "open mode (no virtual keys yet): loopback callers need none");
      // Last: it connects in the background, and a broker that is down never stops HTTP.
      this.rabbit = startRabbit(initial);
    } catch (RuntimeException e) {
      BatchRunner runner = batchRunner;
      if (runner != null) {
        runner.close(Duration.ZERO);
      }
      ClusterLimits leases = cluster;
      if (leases != null) {
        leases.close();
      }
      if (openedBatches != null) {
        closeQuietly(openedBatches);
      }
      closeQuietly(tenants);
      throw e;
    }
  }

  private @Nullable RabbitIngress startRabbit(GatewayConfig initial) {
    GatewayConfig.Rabbit settings = initial.rabbit();
    if (settings == null) {
      return null;
    }
    RabbitIngress ingress;
    try {
      ingress =
          RabbitIngress.start(
              settings, pipeline, tenants, admissions, initial.defaults().shutdownGraceMillis());
    } catch (IllegalArgumentException e) {
      // HTTP already listens: serve it, and say plainly that the queue is not consumed.
      LOG.error("queues.rabbitmq: {}; the queue ingress is off", e.getMessage());
      return null;
    }
    telemetry.metrics().ifPresent(m -> m.bindQueue(ingress.queue(), ingress::messages));
    LOG.info("queues: consuming RabbitMQ queue {} (docs/queues.md)", settings.queue());
    return ingress;
  }

  /**
   * The Batch API's services, on the tenants' storage: metadata in its database, file bytes in its
   * file store ({@code files/} beside the embedded database, or PostgreSQL in cluster mode).
   */
  private static BatchService openBatches(
      GatewayConfig initial,
      Tenants tenants,
      LongSupplier wallMillis,
      java.util.function.Supplier<GatewayConfig> config) {
    FileStore fileStore = tenants.storage().files();
    BatchStore store = tenants.storage().batches();
    FileService files =
        new FileService(store, fileStore, () -> config.get().batches().maxFileBytes(), wallMillis);
    BatchValidator validator =
        new BatchValidator(
            initial.batches().maxLines(),
            (int) Math.min(initial.defaults().maxBodyBytes(), Integer.MAX_VALUE - 16));
    return new BatchService(store, files, validator, wallMillis);
  }

  /**
   * Opens the storage (the embedded database, or PostgreSQL in cluster mode) and what lives in it.
   * The key secret is {@code PENSTOCK_KEY_SECRET}, else the storage's own (a file beside the
   * embedded database, or a row in PostgreSQL shared by every instance). On shared storage the keys
   * other instances change are heard from here on.
   */
  private static Tenants openTenants(
      GatewayConfig.Tenancy tenancy, LongSupplier wallMillis, long keyWindowNanos) {
    Clock clock = new MillisClock(wallMillis);
    Storage storage = Storage.open(tenancy);
    try {
      byte[] secret = storage.keySecret(System.getenv("PENSTOCK_KEY_SECRET"));
      VirtualKeys keys = new VirtualKeys(storage.keys(), secret, clock);
      storage.watchKeys(keys);
      LedgerWriter writer = new LedgerWriter(storage.ledger(), 500, Duration.ofMillis(50));
      return new Tenants(
          keys,
          storage.ledger(),
          writer,
          clock,
          tenancy.auth(),
          tenancy.pricing(),
          storage,
          keyWindowNanos);
    } catch (RuntimeException e) {
      storage.close();
      throw e;
    }
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception e) {
      LOG.warn("while giving up the start: {}", e.toString());
    }
  }

  /** A {@link Clock} on the builder's wall clock, in UTC. */
  private static final class MillisClock extends Clock {
    private final LongSupplier millis;

    MillisClock(LongSupplier millis) {
      this.millis = millis;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis.getAsLong());
    }
  }

  /** The RabbitMQ ingress, when {@code queues.rabbitmq} is configured. */
  public Optional<RabbitIngress> rabbit() {
    return Optional.ofNullable(rabbit);
  }

  /**
   * The Batch API: files, batches, their validation; the executor sets its wake-up and progress
   * here ({@link BatchService#setWakeUp}, {@link BatchService#setProgress}).
   */
  public BatchService batches() {
    return batches;
  }

  /** The response cache. */
  public CacheService cache() {
    return cache;
  }

  /** Virtual keys, their limits and budgets, pricing and the ledger. */
  public Tenants tenants() {
    return tenants;
  }

  public int port() {
    return server.port();
  }

  public String baseUrl() {
    return "http://" + config.host() + ":" + port() + "/v1";
  }

  /** The live dashboard's page. */
  public String dashboardUrl() {
    return "http://" + config.host() + ":" + port() + "/ui";
  }

  public Admissions admissions() {
    return admissions;
  }

  /** The watch over the clients of requests in flight (tests sweep it on a fake ticker). */
  public ClientWatch clientWatch() {
    return clientWatch;
  }

  /** The settings in force. */
  public GatewayConfig config() {
    return config;
  }

  /**
   * Installs a new, already validated configuration. Requests in flight finish on the deployments
   * they hold; deployments that stay keep their limit state. The listen address is not changed.
   */
  public synchronized void reload(GatewayConfig next) {
    // The routes first: the scheduler may admit a waiting request to an added deployment the
    // moment it knows it, and that request must then find where to send it. (Done the other way
    // round, such a request failed as "removed" and, retried elsewhere, once held a queue back.)
    // A deployment being removed stays reachable for the requests that started before.
    Pipeline.Routing routing = RoutingTables.routing(next, tokens);
    pipeline.routing(routing);
    admissions.configure(RoutingTables.topology(next));
    healthChecks.install(routing.targets().values());
    tenants.reconfigure(next.tenancy().auth(), next.tenancy().pricing());
    cache.reload(next.cache());
    if (!next.tenancy().storagePath().equals(config.tenancy().storagePath())) {
      LOG.warn("storage.path changed: it takes effect at the next start");
    }
    if (!Objects.equals(next.rabbit(), config.rabbit())) {
      LOG.warn("queues.rabbitmq changed: it takes effect at the next start");
    }
    config = next;
    upstreamKeys = upstreamKeys(next);
  }

  private boolean ready() {
    if (draining || ConnectionLimit.nearDescriptorLimit()) {
      return false;
    }
    ClusterLimits leases = cluster;
    if (leases != null && !leases.connected()) {
      return false; // on the fallback share: let the load balancer prefer instances with leases
    }
    return admissions.inspect(
        s ->
            config.models().values().stream()
                .flatMap(m -> m.deployments().stream())
                .anyMatch(
                    d ->
                        s.deployment(d.name()).map(l -> l.disabledReason() == null).orElse(false)));
  }

  /**
   * Starts draining: from now on new requests get {@code 503 shutting_down} (with {@code
   * Retry-After} and {@code Connection: close}) and readiness reports DOWN; requests in flight, and
   * those waiting in the queue, carry on. {@link #close} drains first.
   */
  public void drain() {
    draining = true;
  }

  /** Cluster mode's shared limits, or empty for a single instance. */
  public java.util.Optional<ClusterLimits> cluster() {
    return java.util.Optional.ofNullable(cluster);
  }

  /** Requests being served now (the queue's included). */
  public int inFlight() {
    return inFlight.count();
  }

  /**
   * Stops gracefully: drains, waits up to {@code defaults.shutdown_grace_ms} for the requests in
   * flight to finish, then stops. Requests still running after the grace period end with a clean
   * error ({@code 503 shutting_down}, or an SSE error event for a stream that began), never a hang.
   */
  @Override
  public void close() {
    drain();
    BatchRunner stopping = batchRunner;
    if (stopping != null) {
      stopping.stop(); // no new batch line starts
    }
    if (rabbit != null) {
      // First: no new message is taken, and those still running go back to the queue.
      rabbit.close();
    }
    long graceMillis = config.defaults().shutdownGraceMillis();
    int pending = inFlight.count();
    if (pending > 0) {
      LOG.info("stopping: waiting up to {} ms for {} requests in flight", graceMillis, pending);
    }
    try {
      if (!inFlight.awaitIdle(graceMillis * 1_000_000)) {
        LOG.warn(
            "stopping: {} requests still in flight after {} ms; ending them",
            inFlight.count(),
            graceMillis);
        // Each ends cleanly: a stream with an SSE error event, anything else with 503
        // shutting_down; a request still waiting is refused the same way (admissions.close()).
        clientWatch.cancelAll(ProxyCall.SHUTTING_DOWN);
        admissions.close();
        if (!inFlight.awaitIdle(ENDING_NANOS)) {
          LOG.warn("stopping: {} requests did not end; the server stops now", inFlight.count());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // Batch lines waiting for capacity are refused (shutting_down) and go back to pending; those
    // already upstream may finish within the grace; the rest are released, to run after a restart.
    admissions.close();
    BatchRunner runner = batchRunner;
    if (runner != null) {
      runner.close(Duration.ofMillis(graceMillis));
    }
    ClusterLimits leases = cluster;
    if (leases != null) {
      leases.close(); // after the last request: leases held lapse by themselves in Redis
    }
    healthChecks.close();
    client.close();
    server.stop();
    clientWatch.close();
    slowRequests.close();
    telemetry.close();
    cache.close();
    batches.close(); // validations stop; their batches stay validating for the next start
    closeQuietly(tenants); // after the last request: the ledger's writer writes everything out
  }

  private static List<String> upstreamKeys(GatewayConfig config) {
    return config.models().values().stream()
        .flatMap(m -> m.deployments().stream())
        .map(d -> d.apiKey().reveal())
        .filter(k -> !k.isEmpty())
        .toList();
  }
}
