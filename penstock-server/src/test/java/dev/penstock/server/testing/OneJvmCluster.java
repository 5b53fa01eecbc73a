package dev.penstock.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import dev.penstock.server.http.GatewayServer;
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

/**
 * Three gateways of one cluster in the test's JVM, in front of the simulator with one strict key
 * ({@code k}), each on its own embedded database under {@code dir}: cluster mode's in-process
 * tests. Closes everything it started, gateways first.
 */
public final class OneJvmCluster implements AutoCloseable {
  private static final String KEY = "sk-one-jvm-cluster";

  private final MockServer mock;
  private final List<GatewayServer> gateways = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder().executor(Executors.newVirtualThreadPerTaskExecutor()).build();

  /** Starts the simulator (one key of {@code rpm}) and three gateways sharing {@code redisUrl}. */
  public OneJvmCluster(Path dir, String redisUrl, String cluster, long rpm, long seed) {
    mock =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(new LatencyModel(5, 0, 0))
                .outputTokens(5)
                .seed(seed)
                .addKey(KeySpec.of("k", KEY, rpm, 10_000_000))
                .build());
    try {
      for (int i = 0; i < 3; i++) {
        gateways.add(
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
                        cluster: {name: "%s", redis_url: "%s", instances: 3}
                        """
                            .formatted(
                                mock.baseUrl(),
                                KEY,
                                rpm,
                                dir.resolve("g" + i).resolve("p.db"),
                                cluster,
                                redisUrl)))
                .start());
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  public List<GatewayServer> gateways() {
    return gateways;
  }

  /** The key's figures as the simulator saw them. */
  public KeyStats key() {
    return mock.stats().getFirst();
  }

  /** Redis calls of the three, summed. */
  public long calls() {
    return gateways.stream().mapToLong(g -> g.cluster().orElseThrow().calls()).sum();
  }

  /** Whether every instance is (or every one is not) on leases. */
  public boolean allConnected(boolean connected) {
    return gateways.stream().allMatch(g -> g.cluster().orElseThrow().connected() == connected);
  }

  /** {@code /health/ready}'s status on {@code g}. */
  public int ready(GatewayServer g) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.port() + "/health/ready"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  /** Closed-loop load: {@code clients} per gateway, each sending chat requests back to back. */
  public Load load(int clients) {
    return new Load(clients);
  }

  /** A running load; {@link #stop} ends it and fails if a client failed (not a refusal). */
  public final class Load {
    private final AtomicBoolean sending = new AtomicBoolean(true);
    private final ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
    private final List<Future<?>> running = new ArrayList<>();

    private Load(int perGateway) {
      for (GatewayServer g : gateways) {
        for (int c = 0; c < perGateway; c++) {
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
    }

    public void stop() throws Exception {
      sending.set(false);
      clients.shutdown();
      assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
      for (Future<?> f : running) {
        f.get();
      }
    }
  }

  /** Waits (bounded, 15 s) until {@code condition} holds; fails naming {@code what}. */
  public static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as(what).isNegative();
      LockSupport.parkNanos(5_000_000);
    }
  }

  /** Lets the load run until {@code deadline} (nanoTime): a measured stretch, not a wait. */
  public static void runUntil(long deadline) {
    while (System.nanoTime() - deadline < 0) {
      LockSupport.parkNanos(deadline - System.nanoTime());
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

  @Override
  public void close() {
    for (GatewayServer g : gateways.reversed()) {
      g.close();
    }
    mock.close();
  }
}
