package dev.penstock.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import dev.penstock.server.http.GatewayServer;
import dev.penstock.server.testing.GatewayFixture;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three gateways in one JVM, one cluster on the machine's Redis (a fresh cluster name each run), in
 * front of one strict simulated key, offered twice its rate spread over the three: together they
 * send at the key's rate, not three times it, smoothly, with no {@code 429}. (The 60 s windows and
 * real processes are {@code ClusterProcessesTest}'s.)
 */
class ClusterLimitsTest {
  private static final long RPM = 1_200; // 20 a second
  private static final String KEY = "sk-cluster-limits";

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : open.reversed()) {
      c.close();
    }
  }

  @Test
  void threeInstancesTogetherSendAtTheKeysRateAndNoFaster() throws Exception {
    MockServer mock =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(new LatencyModel(5, 0, 0))
                .outputTokens(5)
                .seed(3)
                .addKey(KeySpec.of("k", KEY, RPM, 10_000_000))
                .build());
    open.add(mock);
    String cluster = "t-" + UUID.randomUUID();
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
                      cluster: {name: "%s", redis_url: "redis://127.0.0.1:6379/0", instances: 3}
                      """
                          .formatted(
                              mock.baseUrl(),
                              KEY,
                              RPM,
                              java.nio.file.Files.createTempDirectory("cluster-limits")
                                  .resolve("p.db"),
                              cluster)))
              .start();
      open.add(g);
      gateways.add(g);
    }
    awaitLeases(gateways);

    // Twice the key's rate, a third to each instance, for 8 s.
    long seconds = 8;
    AtomicBoolean sending = new AtomicBoolean(true);
    HttpClient http =
        HttpClient.newBuilder().executor(Executors.newVirtualThreadPerTaskExecutor()).build();
    ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
    long start = System.nanoTime();
    List<java.util.concurrent.Future<?>> running = new ArrayList<>();
    for (GatewayServer g : gateways) {
      for (int c = 0; c < 40; c++) {
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
    // The steady part: from 2 s on, once every instance holds leases.
    awaitNanos(start + TimeUnit.SECONDS.toNanos(2));
    long requestsBefore = mock.stats().getFirst().requests();
    long callsBefore = calls(gateways);
    long steadyStart = System.nanoTime();
    awaitNanos(start + TimeUnit.SECONDS.toNanos(seconds));
    KeyStats stats = mock.stats().getFirst();
    double steadySeconds = (System.nanoTime() - steadyStart) / 1e9;
    long steadyRequests = stats.requests() - requestsBefore;
    long steadyCalls = calls(gateways) - callsBefore;
    sending.set(false);
    clients.shutdown();
    assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
    for (java.util.concurrent.Future<?> f : running) {
      f.get(); // a client that failed (not a refusal: an exception) fails the test
    }

    double perSecond = RPM / 60.0;
    double rate = steadyRequests / steadySeconds;
    System.out.printf(
        "cluster of 3 over one %d RPM key (%.0f/s): %.2f/s delivered in the steady %.1f s (%.3f"
            + " of the rate), peak %d in one second, %d 429s; %.2f Redis calls a request%n",
        RPM,
        perSecond,
        rate,
        steadySeconds,
        rate / perSecond,
        stats.peakRequests1s(),
        stats.rateLimited(),
        (double) steadyCalls / Math.max(1, steadyRequests));
    assertThat(stats.rateLimited()).isZero();
    // Not three times the rate (each instance alone would send at the full rate), nor above it...
    assertThat(rate).isLessThanOrEqualTo(perSecond * 1.03);
    // ...but nearly all of it, although every instance is leased its part (the cluster counts
    // each grant for the window plus two leases: 60/61.75 of the rate at most).
    assertThat(rate).isGreaterThanOrEqualTo(perSecond * 0.9);
    // Smooth: no second far above the rate. (Three instances at the full rate would show three
    // times it; the margin is for this JVM's own jitter: three gateways, the simulator and 120
    // clients on two cores.)
    assertThat(stats.peakRequests1s()).isLessThanOrEqualTo((long) (perSecond * 1.35));
    for (GatewayServer g : gateways) {
      assertThat(g.cluster().orElseThrow().connected()).isTrue();
    }
  }

  private static void awaitNanos(long deadline) {
    while (System.nanoTime() - deadline < 0) {
      java.util.concurrent.locks.LockSupport.parkNanos(deadline - System.nanoTime());
    }
  }

  private static long calls(List<GatewayServer> gateways) {
    return gateways.stream().mapToLong(g -> g.cluster().orElseThrow().calls()).sum();
  }

  private static void awaitLeases(List<GatewayServer> gateways) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (gateways.stream().anyMatch(g -> !g.cluster().orElseThrow().connected())) {
      assertThat(System.nanoTime() - deadline).as("instances reach Redis").isNegative();
      java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
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
