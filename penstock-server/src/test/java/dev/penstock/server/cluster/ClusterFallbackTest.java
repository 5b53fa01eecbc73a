package dev.penstock.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import dev.penstock.server.http.GatewayServer;
import dev.penstock.server.testing.GatewayFixture;
import dev.penstock.server.testing.RedisProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Redis goes away under load and comes back empty (it keeps nothing on disk): three gateways in one
 * JVM report themselves not ready and fall back to a third each of what the cluster had left, the
 * key sees no {@code 429} and no second above its rate throughout, and within seconds of Redis's
 * return every instance is back on leases, having re-seeded the new generation.
 */
class ClusterFallbackTest {
  private static final long RPM = 1_200; // 20 a second
  private static final String KEY = "sk-cluster-fallback";

  @TempDir Path dir;

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : open.reversed()) {
      c.close();
    }
  }

  @Test
  void redisGoneMeansNotReadyAndAThirdEachThenLeasesAgain() throws Exception {
    RedisProcess redis = RedisProcess.start(dir);
    open.add(redis);
    MockServer mock =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(new LatencyModel(5, 0, 0))
                .outputTokens(5)
                .seed(5)
                .addKey(KeySpec.of("k", KEY, RPM, 10_000_000))
                .build());
    open.add(mock);
    List<GatewayServer> gateways = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      GatewayServer g =
          GatewayServer.builder(
                  GatewayFixture.parse(
                      """
                      listen: 127.0.0.1:0
                      models:
                        gpt-4o-mini:
                          deployments:
                            - {name: k, base_url: "%s", api_key: "%s", rpm: %d, tpm: 10000000}
                      cache: {enabled: false}
                      storage: {path: "%s"}
                      cluster: {name: fallback, redis_url: "%s", instances: 3}
                      """
                          .formatted(
                              mock.baseUrl(),
                              KEY,
                              RPM,
                              dir.resolve("g" + i).resolve("p.db"),
                              redis.url())))
              .start();
      open.add(g);
      gateways.add(g);
    }
    HttpClient http =
        HttpClient.newBuilder().executor(Executors.newVirtualThreadPerTaskExecutor()).build();
    await("every instance on leases", () -> all(gateways, true));
    for (GatewayServer g : gateways) {
      assertThat(ready(http, g)).isEqualTo(200);
    }

    AtomicBoolean sending = new AtomicBoolean(true);
    ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
    open.add(clients::shutdownNow);
    List<Future<?>> running = new ArrayList<>();
    for (GatewayServer g : gateways) {
      for (int c = 0; c < 30; c++) {
        running.add(
            clients.submit(
                () -> {
                  while (sending.get()) {
                    http.send(chat(g), HttpResponse.BodyHandlers.discarding());
                  }
                  return null;
                }));
      }
    }
    pause(Duration.ofSeconds(3));

    redis.stop();
    await("every instance sees Redis gone", () -> all(gateways, false));
    for (GatewayServer g : gateways) {
      assertThat(ready(http, g)).as("not ready while on the fallback").isEqualTo(503);
    }
    long before = mock.stats().getFirst().requests();
    long from = System.nanoTime();
    pause(Duration.ofSeconds(4));
    double outageRate =
        (mock.stats().getFirst().requests() - before) / ((System.nanoTime() - from) / 1e9);

    redis.restart(); // empty: a new generation, which the instances re-seed
    await("every instance back on leases", () -> all(gateways, true));
    for (GatewayServer g : gateways) {
      assertThat(ready(http, g)).isEqualTo(200);
    }
    before = mock.stats().getFirst().requests();
    from = System.nanoTime();
    pause(Duration.ofSeconds(4));
    double afterRate =
        (mock.stats().getFirst().requests() - before) / ((System.nanoTime() - from) / 1e9);
    sending.set(false);
    clients.shutdown();
    assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
    for (Future<?> f : running) {
      f.get();
    }

    KeyStats stats = mock.stats().getFirst();
    double perSecond = RPM / 60.0;
    System.out.printf(
        "Redis away: %.1f/s delivered (key rate %.0f/s); back: %.1f/s; peak %d in a second;"
            + " %d 429s%n",
        outageRate, perSecond, afterRate, stats.peakRequests1s(), stats.rateLimited());
    assertThat(stats.rateLimited()).isZero();
    // On the fallback each instance keeps to a third of what the cluster had left: together at
    // most the rate (the cluster's window held only these few seconds' use).
    assertThat(outageRate).isLessThanOrEqualTo(perSecond * 1.05);
    assertThat(outageRate).isGreaterThan(perSecond * 0.5);
    assertThat(afterRate).isGreaterThan(perSecond * 0.8).isLessThanOrEqualTo(perSecond * 1.05);
    assertThat(stats.peakRequests1s()).isLessThanOrEqualTo((long) (perSecond * 1.35));
  }

  private static boolean all(List<GatewayServer> gateways, boolean connected) {
    return gateways.stream().allMatch(g -> g.cluster().orElseThrow().connected() == connected);
  }

  private static int ready(HttpClient http, GatewayServer g) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.port() + "/health/ready"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as(what).isNegative();
      LockSupport.parkNanos(5_000_000);
    }
  }

  /** The load runs meanwhile: a measured stretch, not a wait for a condition. */
  private static void pause(Duration d) {
    long end = System.nanoTime() + d.toNanos();
    while (System.nanoTime() - end < 0) {
      LockSupport.parkNanos(end - System.nanoTime());
    }
  }

  private static HttpRequest chat(GatewayServer g) {
    return HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + g.port() + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(60))
        .header("content-type", "application/json")
        .header("x-penstock-timeout-ms", "30000")
        .POST(
            HttpRequest.BodyPublishers.ofString(
                "{\"model\":\"gpt-4o-mini\",\"max_tokens\":5,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .build();
  }
}
