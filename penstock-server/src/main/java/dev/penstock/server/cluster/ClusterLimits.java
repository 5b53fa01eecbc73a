package dev.penstock.server.cluster;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.core.Admissions;
import dev.penstock.core.Scheduler;
import dev.penstock.core.limit.SharedCapacity;
import dev.penstock.core.queue.Priority;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.pipeline.RoutingTables;
import dev.penstock.server.tenant.Tenants;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster mode's shared limits (SPEC 13, docs/cluster.md, docs/decisions/0002-cluster-leases.md):
 * one thread per instance that keeps this instance's deployments supplied with leases from Redis.
 *
 * <h2>Off the request's path</h2>
 *
 * <p>Requests never wait on Redis: they start on leased slots the scheduler already holds ({@link
 * SharedCapacity}). This thread asks for the next lease of every deployment that needs one in one
 * call (one Lua script, {@code lease.lua}): when the slots held run out within one lease ({@code
 * lease_ms}), or at once when a request starts to wait with none held ({@link #kick}). What it asks
 * for is what waits plus what the recent rate of starts will use before the next call; the script
 * grants at most that, this instance's fair share, and what the cluster's schedule and window
 * allow.
 *
 * <h2>When Redis is away</h2>
 *
 * <p>A failed call puts every deployment on its fallback share ({@link SharedCapacity#lost}) and
 * the instance reports itself not ready; calls are tried again with a backoff up to a second, and
 * the first answer restores leases. Redis keeps nothing on disk: a restart shows as a new
 * generation, and each instance then reports what it started in its own window, which the script
 * waits for (every instance seen, or two seconds) before granting again.
 *
 * <p>Thread-safe: the loop thread does all Redis work; the figures are read from any thread.
 */
public final class ClusterLimits implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterLimits.class);

  /** How long a new generation waits for every instance to re-seed it. */
  static final long SETTLE_MILLIS = 2_000;

  /** A Redis call that takes longer failed: leases are short, a late answer is no use. */
  static final Duration CALL_TIMEOUT = Duration.ofMillis(300);

  /** The longest wait between attempts while Redis is away. */
  static final long MAX_BACKOFF_NANOS = 1_000_000_000L;

  /** How often unreported use is told when nothing else calls (a started fallback, refunds). */
  static final long REPORT_NANOS = 1_000_000_000L;

  private static final String SCRIPT = loadScript();

  private final GatewayConfig.Cluster settings;
  private final Admissions admissions;
  private final LongSupplier nanos;
  private final long spanMillis;
  private final String instance;
  private final String metaKey;
  private final String keyPrefix;
  private final RedisURI uri;
  private final RedisClient client;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile boolean connected;
  private final AtomicLong calls = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong granted = new AtomicLong();
  private final AtomicLong tenantSyncs = new AtomicLong();
  private final java.util.concurrent.atomic.AtomicBoolean kicked =
      new java.util.concurrent.atomic.AtomicBoolean();

  // Loop thread only.
  private volatile @Nullable StatefulRedisConnection<String, String> connection;
  private @Nullable String sha;
  private @Nullable String generation;
  private long lastCallNanos;
  private long backoffNanos;
  private long retryAtNanos;
  private final Map<String, Rate> rates = new HashMap<>();
  private final @Nullable ClusterTenants tenants;
  private final LongSupplier wallMillis;
  private long lastTenantsNanos;

  /** A deployment's recent rate of leased starts here, and when it may be asked for again. */
  private static final class Rate {
    long starts = -1;
    long atNanos;
    double perNano;
    long notBeforeNanos;
  }

  private ClusterLimits(
      GatewayConfig.Cluster settings,
      Admissions admissions,
      LongSupplier nanos,
      long spanMillis,
      String instance,
      @Nullable Tenants tenants,
      boolean sharedLedger,
      LongSupplier wallMillis) {
    this.settings = settings;
    this.wallMillis = wallMillis;
    this.tenants =
        tenants == null
            ? null
            : new ClusterTenants(
                tenants, instance, settings.name(), sharedLedger, RoutingTables.WINDOW_MILLIS);
    this.admissions = admissions;
    this.nanos = nanos;
    this.spanMillis = spanMillis;
    this.instance = instance;
    this.metaKey = "penstock:{" + settings.name() + "}:meta";
    this.keyPrefix = "penstock:{" + settings.name() + "}:d:";
    this.uri = RedisURI.create(settings.redisUrl().reveal());
    this.client = RedisClient.create();
    client.setOptions(
        ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofMillis(500)).build())
            .timeoutOptions(TimeoutOptions.enabled(CALL_TIMEOUT))
            .build());
    this.thread =
        Thread.ofPlatform().daemon().name("penstock-cluster-leases").unstarted(this::loop);
  }

  /**
   * Puts every deployment under cluster mode's gate and starts the lease thread.
   *
   * @param spanMillis the pacing span (window plus guard) the limits are counted over
   * @param tenants the virtual keys whose limits and budgets the instances share, or null
   * @param sharedLedger whether the ledger is shared (PostgreSQL): spend read from it at start
   *     already holds what the other instances spent before
   */
  public static ClusterLimits start(
      GatewayConfig.Cluster settings,
      Admissions admissions,
      LongSupplier nanos,
      long spanMillis,
      @Nullable Tenants tenants,
      boolean sharedLedger,
      LongSupplier wallMillis) {
    String instance =
        ProcessHandle.current().pid()
            + "-"
            + Long.toHexString(ThreadLocalRandom.current().nextLong());
    ClusterLimits limits =
        new ClusterLimits(
            settings, admissions, nanos, spanMillis, instance, tenants, sharedLedger, wallMillis);
    long leaseNanos = settings.leaseMillis() * 1_000_000;
    SharedCapacity.Settings gate =
        new SharedCapacity.Settings(
            settings.instances(),
            leaseNanos,
            (spanMillis + 2 * settings.leaseMillis() + 250) * 1_000_000);
    admissions.modify(s -> s.share(gate, nanos.getAsLong()));
    admissions.onQueued(limits::kick);
    limits.thread.start();
    LOG.info(
        "cluster: instance {} of cluster {} ({} instances), leases of {} ms from Redis at {}:{}",
        instance,
        settings.name(),
        settings.instances(),
        settings.leaseMillis(),
        limits.uri.getHost(),
        limits.uri.getPort());
    return limits;
  }

  /**
   * A request started to wait: ask for leases now rather than at the next turn. Cheap on the
   * request's path: one unpark per turn of the loop, however many requests start to wait.
   */
  public void kick() {
    if (!kicked.getAndSet(true)) {
      LockSupport.unpark(thread);
    }
  }

  /** Whether Redis answered the last call (false: every deployment is on its fallback share). */
  public boolean connected() {
    return connected;
  }

  /** Calls made to Redis (each one script run covering every deployment that needed one). */
  public long calls() {
    return calls.get();
  }

  /** Calls that failed or timed out. */
  public long failures() {
    return failures.get();
  }

  /** Start slots granted to this instance. */
  public long granted() {
    return granted.get();
  }

  /** Turns that told and heard the virtual keys' use (once a second while Redis answers). */
  public long tenantSyncs() {
    return tenantSyncs.get();
  }

  /** This instance's id in the cluster (pid and a random part). */
  public String instance() {
    return instance;
  }

  /**
   * {@code GET /admin/cluster}: the cluster as this instance sees it (never the Redis password).
   */
  public ObjectNode json() {
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    out.put("name", settings.name());
    out.put("instance", instance);
    out.put("connected", connected);
    out.put("instances", settings.instances());
    out.put("lease_ms", settings.leaseMillis());
    out.put("redis", uri.getHost() + ":" + uri.getPort());
    out.put("redis_calls", calls.get());
    out.put("redis_failures", failures.get());
    out.put("slots_granted", granted.get());
    long now = nanos.getAsLong();
    var deployments = out.putArray("deployments");
    for (Scheduler.ShareState s : admissions.inspect(sc -> sc.shareStates(now))) {
      ObjectNode d = deployments.addObject();
      d.put("name", s.deployment());
      d.put("mode", s.connected() ? "leased" : "fallback");
      d.put("slots_left", s.slotsLeft());
      d.put("tokens_left", s.tokensLeft());
      d.put("leased_starts", s.leasedStarts());
      d.put("waiting", s.queuedRequests());
    }
    return out;
  }

  private void loop() {
    while (running) {
      kicked.set(false); // a request that starts to wait from here on wakes the next turn
      long now = nanos.getAsLong();
      long wake = now + 1_000_000_000L;
      try {
        wake = turn(now);
      } catch (RuntimeException e) {
        LOG.error("cluster: the lease loop failed; it goes on", e);
      }
      long wait = wake - nanos.getAsLong();
      if (wait > 0 && running) {
        LockSupport.parkNanos(this, wait);
      }
    }
  }

  /** One turn: calls Redis when something needs it; returns when to look again. */
  private long turn(long now) {
    if (!connected && now - retryAtNanos < 0) {
      return retryAtNanos;
    }
    List<Scheduler.ShareState> states = admissions.inspect(s -> s.shareStates(now));
    long leaseNanos = settings.leaseMillis() * 1_000_000;
    long wake = now + (states.isEmpty() ? REPORT_NANOS : leaseNanos / 4);
    List<Ask> asks = new ArrayList<>();
    boolean report = now - lastCallNanos >= REPORT_NANOS;
    // A call covers every deployment: once one needs a call, those that will soon ride along, so
    // that a busy instance calls about once a lease whatever its number of deployments.
    List<Ask> soon = new ArrayList<>();
    boolean calling = !connected;
    for (Scheduler.ShareState s : states) {
      Rate rate = rates.computeIfAbsent(s.deployment(), k -> new Rate());
      rate(rate, s.leasedStarts(), now);
      // Wanted before the next call: what waits, and what the recent rate will start.
      long expected = (long) Math.ceil(rate.perNano * leaseNanos * 1.25);
      long want = Math.max(0, s.queuedRequests() + expected - s.slotsLeft());
      // Asked again when the slots held run out — by their times (a slow or shared deployment's
      // slots are spread over the lease) and by their count at the recent rate (a fast one's all
      // lie within microseconds): a fifth of a lease ahead, for the round trip; riding along from
      // half a lease on.
      double perLease = rate.perNano * leaseNanos;
      long slots = s.slotsLeft();
      long left = s.leasedUntilNanos() - now;
      boolean free = now - rate.notBeforeNanos >= 0;
      boolean ask =
          want > 0
              && free
              && ((slots <= Math.ceil(perLease / 5) && (slots == 0 || left <= leaseNanos / 5))
                  || !connected);
      boolean nearly =
          want > 0
              && free
              && slots <= Math.ceil(perLease / 2)
              && (slots == 0 || left <= leaseNanos / 2);
      boolean tell = s.unreportedRequests() != 0 || s.unreportedTokens() != 0;
      // Starts the cluster does not know of are told at once: until then others may be granted
      // what they used.
      boolean urgent = s.reseeding() || !s.startsToTell().isEmpty();
      long perRequest =
          s.queuedRequests() > 0
              ? Math.max(1, s.queuedTokens() / Math.max(1, s.queuedRequests()))
              : 1;
      if (ask || urgent || (tell && report) || !connected) {
        asks.add(new Ask(s, ask ? want : 0, ask ? want * perRequest : 0));
        calling |= ask || urgent || (tell && report);
      } else if (nearly || tell) {
        soon.add(new Ask(s, nearly ? want : 0, nearly ? want * perRequest : 0));
      }
      if (want > 0) {
        // When the slots held run down to a fifth of a lease at the recent rate.
        long runsOut =
            Math.max(
                rate.perNano > 0 ? now + (long) ((slots - perLease / 5) / rate.perNano) : now,
                s.leasedUntilNanos() - leaseNanos / 5);
        wake = Math.min(wake, Math.max(now + 1_000_000, Math.max(rate.notBeforeNanos, runsOut)));
      }
    }
    if (calling) {
      asks.addAll(soon);
    } else {
      asks.clear();
    }
    if (!asks.isEmpty()) {
      call(asks);
    }
    if (connected && tenants != null && now - lastTenantsNanos >= REPORT_NANOS) {
      syncTenants(now);
    }
    if (!connected) {
      return retryAtNanos;
    }
    long next = asks.isEmpty() ? wake : Math.min(wake, now + leaseNanos / 4);
    return tenants == null ? next : Math.min(next, lastTenantsNanos + REPORT_NANOS);
  }

  /** Tells and hears the virtual keys' use (a second's turn; see {@link ClusterTenants}). */
  private void syncTenants(long now) {
    ClusterTenants t = tenants;
    StatefulRedisConnection<String, String> c = connection;
    if (t == null || c == null) {
      return;
    }
    lastTenantsNanos = now;
    try {
      calls.addAndGet(
          t.sync(
              c.sync(), nanos.getAsLong(), java.time.Instant.ofEpochMilli(wallMillis.getAsLong())));
      tenantSyncs.incrementAndGet(); // after: what it heard is in force
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  private static void rate(Rate rate, long starts, long now) {
    if (rate.starts < 0) {
      rate.starts = starts;
      rate.atNanos = now;
      return;
    }
    long elapsed = now - rate.atNanos;
    if (elapsed >= 100_000_000L) {
      double sample = (double) (starts - rate.starts) / elapsed;
      rate.perNano = rate.perNano == 0 ? sample : 0.5 * rate.perNano + 0.5 * sample;
      rate.starts = starts;
      rate.atNanos = now;
    }
  }

  private record Ask(Scheduler.ShareState state, long requests, long tokens) {}

  private void call(List<Ask> asks) {
    List<String> keys = new ArrayList<>(asks.size() + 1);
    List<String> args = new ArrayList<>(7 + 8 * asks.size());
    keys.add(metaKey);
    args.add(instance);
    args.add(Long.toHexString(ThreadLocalRandom.current().nextLong()));
    args.add(Long.toString(settings.leaseMillis()));
    args.add(Long.toString(spanMillis));
    args.add(Integer.toString(settings.instances()));
    args.add(Long.toString(SETTLE_MILLIS));
    String known = generation;
    args.add(known == null ? "" : known);
    for (Ask ask : asks) {
      Scheduler.ShareState s = ask.state();
      keys.add(keyPrefix + s.deployment());
      Priority top = s.top();
      args.add(Long.toString(Math.max(1, s.rpm())));
      args.add(Long.toString(Math.max(1, s.tpm())));
      args.add(Long.toString(ask.requests()));
      args.add(Long.toString(ask.tokens()));
      args.add(Integer.toString(level(top)));
      args.add(Long.toString(s.unreportedRequests()));
      args.add(Long.toString(s.unreportedTokens()));
      args.add(starts(s.startsToTell()));
    }
    long before = nanos.getAsLong();
    List<Object> answer;
    try {
      answer = eval(keys, args);
    } catch (RuntimeException e) {
      failed(e);
      return;
    }
    long after = nanos.getAsLong();
    lastCallNanos = after;
    calls.incrementAndGet();
    apply(asks, answer, before + (after - before) / 2);
    if (!connected) {
      connected = true;
      backoffNanos = 0;
      LOG.info("cluster: Redis answers again; capacity comes from leases");
    }
  }

  private List<Object> eval(List<String> keys, List<String> args) {
    StatefulRedisConnection<String, String> c = connection;
    if (c == null) {
      c = client.connect(uri);
      connection = c;
    }
    String[] k = keys.toArray(String[]::new);
    String[] a = args.toArray(String[]::new);
    if (sha == null) {
      sha = c.sync().scriptLoad(SCRIPT);
    }
    try {
      return c.sync().evalsha(sha, ScriptOutputType.MULTI, k, a);
    } catch (RedisNoScriptException e) {
      sha = c.sync().scriptLoad(SCRIPT); // Redis restarted: its script cache is empty
      return c.sync().evalsha(sha, ScriptOutputType.MULTI, k, a);
    }
  }

  private void apply(List<Ask> asks, List<Object> answer, long redisNowLocal) {
    String gen = String.valueOf(answer.get(0));
    boolean newGeneration = generation != null && !generation.equals(gen);
    generation = gen;
    for (int i = 0; i < asks.size(); i++) {
      Scheduler.ShareState s = asks.get(i).state();
      int o = 2 + 8 * i;
      int count = (int) number(answer.get(o));
      double firstMs = number(answer.get(o + 1));
      double intervalMs = number(answer.get(o + 2));
      long tokens = (long) number(answer.get(o + 3));
      long windowRequests = (long) Math.ceil(number(answer.get(o + 4)));
      long windowTokens = (long) Math.ceil(number(answer.get(o + 5)));
      double share = number(answer.get(o + 6));
      double nextMs = number(answer.get(o + 7));
      granted.addAndGet(count);
      if (LOG.isTraceEnabled()) {
        LOG.trace(
            "lease {}: asked {}, granted {} from {} ms every {} ms, share {}, window {}, next {} ms",
            s.deployment(),
            asks.get(i).requests(),
            count,
            firstMs,
            intervalMs,
            share,
            windowRequests,
            nextMs);
      }
      Rate rate = rates.computeIfAbsent(s.deployment(), k -> new Rate());
      rate.notBeforeNanos = redisNowLocal + (long) (nextMs * 1_000_000);
      long first = redisNowLocal + (long) (firstMs * 1_000_000);
      admissions.update(
          sc ->
              sc.leaseGranted(
                  s.deployment(),
                  nanos.getAsLong(),
                  s.unreportedRequests(),
                  s.unreportedTokens(),
                  s.startsToTell().stream().mapToLong(g -> g[1]).sum(),
                  s.reseeding(),
                  first,
                  intervalMs * 1_000_000,
                  count,
                  tokens,
                  share,
                  windowRequests,
                  windowTokens));
    }
    if (newGeneration) {
      LOG.warn(
          "cluster: Redis lost the cluster's state (restarted?); this instance reports what it"
              + " started in the last window");
      admissions.modify(sc -> sc.shareReseed(nanos.getAsLong()));
      lastCallNanos = 0; // report at once
    }
  }

  /** The script's priority levels: 0 (high) to 3 (batch, or nothing waiting). */
  private static int level(@Nullable Priority top) {
    if (top == null) {
      return 3;
    }
    return switch (top) {
      case HIGH -> 0;
      case NORMAL -> 1;
      case LOW -> 2;
      case BATCH -> 3;
    };
  }

  /** {@code "ms left:requests:tokens;..."}, as the script reads them. */
  private static String starts(List<long[]> groups) {
    StringBuilder out = new StringBuilder();
    for (long[] g : groups) {
      out.append(g[0] / 1_000_000).append(':').append(g[1]).append(':').append(g[2]).append(';');
    }
    return out.toString();
  }

  private static double number(Object value) {
    return Double.parseDouble(String.valueOf(value));
  }

  private void failed(RuntimeException e) {
    failures.incrementAndGet();
    long now = nanos.getAsLong();
    if (connected || backoffNanos == 0) {
      LOG.warn(
          "cluster: Redis at {}:{} does not answer ({}); each deployment falls back to 1/{} of its"
              + " limits, and this instance reports not ready",
          uri.getHost(),
          uri.getPort(),
          rootMessage(e),
          settings.instances());
    }
    connected = false;
    admissions.update(s -> s.shareLost(now));
    backoffNanos = backoffNanos == 0 ? 100_000_000L : Math.min(MAX_BACKOFF_NANOS, backoffNanos * 2);
    retryAtNanos = now + backoffNanos;
    StatefulRedisConnection<String, String> c = connection;
    if (c != null && !c.isOpen()) {
      connection = null; // connect afresh next time
      var _ = c.closeAsync();
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && !root.getCause().equals(root)) {
      root = root.getCause();
    }
    return root.getClass().getSimpleName() + ": " + root.getMessage();
  }

  private static String loadScript() {
    try (InputStream in = ClusterLimits.class.getResourceAsStream("lease.lua")) {
      if (in == null) {
        throw new IllegalStateException("lease.lua is missing from the class path");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read lease.lua", e);
    }
  }

  /** Stops the thread (waits for it up to a second) and closes the connection. */
  @Override
  public void close() {
    running = false;
    LockSupport.unpark(thread);
    try {
      thread.join(1_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    StatefulRedisConnection<String, String> c = connection;
    if (c != null) {
      c.close();
    }
    client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
  }
}
