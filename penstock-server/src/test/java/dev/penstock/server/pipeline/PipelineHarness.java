package dev.penstock.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.core.Admissions;
import dev.penstock.core.limit.DeploymentLimiter;
import dev.penstock.core.time.FakeTicker;
import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.TokenEstimator;
import dev.penstock.server.telemetry.RequestRecord;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * {@link Pipeline#standard} wired to fakes, with no socket and no real time: a {@link FakeTicker},
 * {@link Admissions} without its dispatcher thread (the test calls {@link #dispatchNow}), a {@link
 * ScriptedUpstream}, a {@link RecordingObserver} and a {@link ClientWatch} the test sweeps.
 *
 * <p>A request runs on the test's thread ({@link #handle}) unless it must wait — in the queue, for
 * an upstream that blocks, on a write that blocks: then on a virtual thread of its own ({@link
 * #start}), which the test joins with a bound. {@link #assertSettled} checks what every test must
 * end with: no reservation held or leaked, nothing queued or watched.
 */
final class PipelineHarness implements AutoCloseable {
  /** The bound of every wait for another thread, in real time: generous, never reached. */
  static final Duration BOUND = Duration.ofSeconds(10);

  /** Shared: loading the encodings takes seconds, and the estimator is thread-safe. */
  static final TokenEstimator TOKENS = new TokenEstimator();

  /** A routing table that routes nothing, for serving stages directly. */
  static final Pipeline.Routing NO_ROUTES =
      new Pipeline.Routing(
          Map.of(), Set.of(), new RequestReader(TOKENS, 16), 60_000, false, 1 << 20, Map.of());

  /**
   * Model {@code gpt-4o} on deployment {@code a}, and {@code b} behind it (priority 1: used only
   * when {@code a} cannot serve); two attempts per request, so a request never backs off.
   */
  static final String TWO_DEPLOYMENTS =
      """
      retry:
        attempts: 2
      models:
        gpt-4o:
          deployments:
            - name: a
              base_url: http://a.upstream.test/v1
              api_key: sk-test-a
              rpm: 1000
              tpm: 1000000
              tpm_charge: usage
            - name: b
              base_url: http://b.upstream.test/v1
              api_key: sk-test-b
              rpm: 1000
              tpm: 1000000
              tpm_charge: usage
              priority: 1
      """;

  /** Model {@code gpt-4o} on deployment {@code a} alone. */
  static final String ONE_DEPLOYMENT =
      """
      retry:
        attempts: 2
      models:
        gpt-4o:
          deployments:
            - name: a
              base_url: http://a.upstream.test/v1
              api_key: sk-test-a
              rpm: 1000
              tpm: 1000000
              tpm_charge: usage
      """;

  final FakeTicker ticker = new FakeTicker();
  final GatewayConfig config;
  final Admissions admissions;
  final ScriptedUpstream upstream = new ScriptedUpstream(ticker);
  final RecordingObserver observer = new RecordingObserver();
  final ClientWatch watch;
  final FakeBatchClock batchClock = new FakeBatchClock(ticker);
  final Pipeline pipeline;
  private final AtomicInteger handled = new AtomicInteger();

  /** The response cache, when the harness was made with one. */
  final dev.penstock.server.cache.@org.jspecify.annotations.Nullable CacheService cache;

  PipelineHarness(String yaml) {
    this(yaml, false);
  }

  /** A harness whose pipeline has a response cache ({@code withCache}) as the gateway's does. */
  PipelineHarness(String yaml, boolean withCache) {
    config = new ConfigLoader(Map.<String, String>of()::get).parse(yaml, "t.yaml");
    admissions =
        new Admissions(RoutingTables.topology(config), ticker, false, new SplittableRandom(7));
    cache = withCache ? dev.penstock.server.cache.CacheService.of(config.cache(), ticker) : null;
    watch =
        ClientWatch.manual(ticker, () -> config.defaults().clientWriteTimeoutMillis() * 1_000_000);
    pipeline =
        Pipeline.standard(
            admissions,
            upstream,
            RoutingTables.routing(config, TOKENS),
            ticker,
            () -> 1_700_000_000_000L,
            observer,
            false,
            watch,
            new dev.penstock.server.telemetry.Redactor(
                () -> java.util.List.of("sk-test-a", "sk-test-b")),
            null,
            cache,
            batchClock);
  }

  /** A chat call as {@link Pipeline#handle} makes one, for serving stages directly. */
  static ProxyCall call(ClientExchange exchange, Pipeline.Routing routing, long arrivedNanos) {
    return new ProxyCall(
        "req_x",
        Endpoint.CHAT,
        exchange,
        new RequestRecord("req_x", "/v1/chat/completions", arrivedNanos, 0),
        routing,
        arrivedNanos);
  }

  /** This harness's routing table. */
  Pipeline.Routing routing() {
    return pipeline.routing();
  }

  /** Serves a chat request on this thread; it must not wait for anything. */
  void handle(RecordingExchange exchange) {
    handle(Endpoint.CHAT, exchange);
  }

  void handle(Endpoint endpoint, RecordingExchange exchange) {
    pipeline.handle(endpoint, exchange, "req_" + handled.incrementAndGet());
  }

  /** Serves a chat request on a virtual thread of its own. */
  Running start(RecordingExchange exchange) {
    return start(Endpoint.CHAT, exchange);
  }

  /** Serves a request on a virtual thread of its own. */
  Running start(Endpoint endpoint, RecordingExchange exchange) {
    String id = "req_" + handled.incrementAndGet();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread thread =
        Thread.ofVirtual()
            .name(id)
            .uncaughtExceptionHandler((t, e) -> failure.set(e))
            .start(() -> pipeline.handle(endpoint, exchange, id));
    return new Running(thread, failure);
  }

  /** A request served on its own thread. */
  record Running(Thread thread, AtomicReference<Throwable> failure) {
    /** Waits (bounded) for the request to end; rethrows what escaped it. */
    void join() throws InterruptedException {
      if (!thread.join(BOUND)) {
        throw new AssertionError(thread.getName() + " did not end");
      }
      Throwable escaped = failure.get();
      if (escaped != null) {
        throw new AssertionError(thread.getName() + " failed", escaped);
      }
    }
  }

  /** Waits (bounded, real time) until {@code condition} holds; never sleeps. */
  static void await(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + BOUND.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.onSpinWait();
    }
  }

  /** Starts what may start now (the dispatcher's job, done by the test). */
  void dispatchNow() {
    admissions.dispatchNow();
  }

  /** A deployment's limiter, for inspection. */
  DeploymentLimiter deployment(String name) {
    return admissions.inspect(s -> s.deployment(name).orElseThrow());
  }

  int consecutiveFailures(String name) {
    return admissions.inspect(s -> s.deployment(name).orElseThrow().health().consecutiveFailures());
  }

  long windowRequests(String name) {
    long now = ticker.nanos();
    return admissions.inspect(s -> s.deployment(name).orElseThrow().windowRequests(now));
  }

  long windowTokens(String name) {
    long now = ticker.nanos();
    return admissions.inspect(s -> s.deployment(name).orElseThrow().windowTokens(now));
  }

  /**
   * What every test ends with: each request settled every reservation it took — none outstanding,
   * none leaked — and left the queue and the client watch; the observers heard of each request
   * once; the scheduler's bookkeeping holds.
   */
  void assertSettled() {
    assertThat(admissions.outstanding()).as("reservations outstanding").isZero();
    assertThat(admissions.leakedReservations()).as("reservations leaked").isZero();
    assertThat(admissions.queued()).as("requests queued").isZero();
    assertThat(watch.watching()).as("clients watched").isZero();
    assertThat(observer.completed()).as("requests completed").hasSize(handled.get());
    long now = ticker.nanos();
    admissions.inspect(
        s -> {
          s.checkInvariantsDeeply(now);
          return null;
        });
  }

  @Override
  public void close() {
    watch.close();
    admissions.close();
  }
}
