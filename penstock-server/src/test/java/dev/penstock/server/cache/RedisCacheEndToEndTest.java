package dev.penstock.server.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.http.GatewayServer;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.testing.GatewayFixture;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The shared cache tier on the real Redis at 127.0.0.1:6379 (CI starts it; a developer's machine
 * without one skips these, CI fails instead): a second gateway hits what the first stored; an entry
 * Redis holds that is junk is a miss, never an answer; a Redis that is down or answers nothing
 * costs at most its timeout, once, and every request is still answered. Each test uses its own key
 * prefix, so that runs never collide.
 */
class RedisCacheEndToEndTest {
  private static final String ADMIN = "adm-redis-0123456789";
  private static final String KEY = "sk-up-redis-e2e";
  private static final String REDIS = "redis://127.0.0.1:6379/0";

  private final String prefix = "penstock-test:" + UUID.randomUUID() + ":";
  private final List<GatewayServer> extra = new ArrayList<>();
  private GatewayFixture fixture;
  private RedisClient redis;
  private StatefulRedisConnection<String, String> connection;

  @BeforeEach
  void start() {
    assumeTrue(redisAnswers() || "true".equals(System.getenv("CI")), "no Redis on 127.0.0.1:6379");
    redis = RedisClient.create(REDIS);
    connection = redis.connect();
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(1, 0, 0))
            .outputTokens(8)
            .seed(3)
            .addKey(KeySpec.of("up", KEY, 100_000, 100_000_000))
            .build();
    fixture = GatewayFixture.start(simulator, yaml(REDIS, 200));
  }

  @AfterEach
  void stop() {
    extra.forEach(GatewayServer::close);
    if (fixture != null) {
      fixture.close();
    }
    if (connection != null) {
      RedisCommands<String, String> sync = connection.sync();
      List<String> keys = keys(sync);
      if (!keys.isEmpty()) {
        sync.del(keys.toArray(String[]::new));
      }
      connection.close();
      redis.shutdown();
    }
  }

  @Test
  void aSecondInstanceHitsWhatTheFirstStored() throws Exception {
    String body = chat("Shared across instances");
    assertThat(cacheOf(fixture.baseUrl(), body)).isEqualTo("miss");
    awaitTrue(() -> keys(connection.sync()).size() == 1, "the entry reaches Redis");
    GatewayServer second = another(yaml(REDIS, 200));
    assertThat(cacheOf(second.baseUrl(), body)).isEqualTo("hit");
    assertThat(upstreamRequests()).isEqualTo(1);
    // Deleting through one instance deletes the shared copy too.
    assertThat(admin(second, "DELETE", "/admin/cache").path("deleted").asLong()).isEqualTo(2);
    assertThat(keys(connection.sync())).isEmpty();
  }

  @Test
  void junkInRedisIsAMissAndAWarningNeverAnAnswer() throws Exception {
    String body = chat("Junk");
    assertThat(cacheOf(fixture.baseUrl(), body)).isEqualTo("miss");
    awaitTrue(() -> keys(connection.sync()).size() == 1, "the entry reaches Redis");
    String key = keys(connection.sync()).getFirst();
    GatewayServer second = another(yaml(REDIS, 200));
    for (String junk : List.of("not an entry", "PSC1\u0000\u0000\u0000\u0002{}not json")) {
      connection.sync().set(key, junk);
      HttpResponse<String> answer = post(second.baseUrl(), body);
      assertThat(answer.statusCode()).isEqualTo(200);
      assertThat(answer.headers().firstValue("x-penstock-cache")).hasValue("miss");
      assertThat(RequestReader.JSON.readTree(answer.body()).path("choices").isArray()).isTrue();
      // The miss stores a good copy once its answer is out, before the request ends: wait for
      // that, then forget it, so the next lookup reads Redis again.
      awaitTrue(() -> second.inFlight() == 0, "the miss's request to end");
      second.cache().invalidate(null, null);
    }
    assertThat(admin(second, "GET", "/admin/cache").path("redis").path("errors").asLong())
        .isEqualTo(2);
  }

  @Test
  void aRedisThatIsDownOrSilentIsAMissNeverAnErrorOrAStall() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    GatewayServer down = another(yaml("redis://127.0.0.1:" + closedPort + "/0", 50));
    String body = chat("Nobody home");
    assertThat(cacheOf(down.baseUrl(), body)).isEqualTo("miss");
    assertThat(cacheOf(down.baseUrl(), body)).isEqualTo("hit"); // the in-process tier still works

    // A Redis that accepts connections and never answers: each lookup waits its 50 ms at most.
    List<Socket> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
    Thread acceptor;
    try (ServerSocket silent = new ServerSocket(0)) {
      acceptor =
          Thread.ofVirtual()
              .start(
                  () -> {
                    while (true) {
                      try {
                        accepted.add(silent.accept());
                      } catch (IOException closed) {
                        return;
                      }
                    }
                  });
      GatewayServer mute = another(yaml("redis://127.0.0.1:" + silent.getLocalPort() + "/0", 50));
      for (int i = 0; i < 5; i++) {
        long start = System.nanoTime();
        HttpResponse<String> answer = post(mute.baseUrl(), chat("Silent " + i));
        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.headers().firstValue("x-penstock-cache")).hasValue("miss");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
      }
      assertThat(admin(mute, "GET", "/admin/cache").path("redis").path("healthy").asBoolean())
          .isFalse();
    }
    assertThat(acceptor.join(Duration.ofSeconds(5))).isTrue();
    for (Socket s : accepted) {
      s.close();
    }
  }

  // ---- helpers

  private String yaml(String redisUrl, int timeoutMillis) {
    return """
        listen: 127.0.0.1:0
        admin_key: %3$s
        models:
          gpt-4o-mini:
            deployments:
              - {name: up, base_url: "%1$s", api_key: "%2$s", rpm: 100000, tpm: 100000000}
        cache:
          redis_url: %4$s
          redis_timeout_ms: %5$d
          redis_prefix: "%6$s"
        """
        .formatted(
            fixture == null ? "${MOCK}" : fixture.mock().baseUrl(),
            KEY,
            ADMIN,
            redisUrl,
            timeoutMillis,
            prefix);
  }

  private GatewayServer another(String yaml) {
    GatewayServer server = GatewayServer.builder(GatewayFixture.parse(yaml)).start();
    extra.add(server);
    return server;
  }

  private static String chat(String prompt) {
    return "{\"model\": \"gpt-4o-mini\", \"temperature\": 0, \"messages\": [{\"role\": \"user\","
        + " \"content\": \""
        + prompt
        + "\"}]}";
  }

  private String cacheOf(String baseUrl, String body) throws Exception {
    HttpResponse<String> r = post(baseUrl, body);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r.headers().firstValue("x-penstock-cache").orElse("");
  }

  private HttpResponse<String> post(String baseUrl, String body) throws Exception {
    return fixture
        .http()
        .send(
            HttpRequest.newBuilder(URI.create(baseUrl + "/chat/completions"))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode admin(GatewayServer server, String method, String path) throws Exception {
    HttpResponse<String> r =
        fixture
            .http()
            .send(
                HttpRequest.newBuilder(URI.create(server.baseUrl().replace("/v1", "") + path))
                    .timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + ADMIN)
                    .method(method, HttpRequest.BodyPublishers.noBody())
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return RequestReader.JSON.readTree(r.body());
  }

  private long upstreamRequests() {
    return fixture.mock().stats().stream().mapToLong(KeyStats::requests).sum();
  }

  private List<String> keys(RedisCommands<String, String> sync) {
    List<String> keys = new ArrayList<>();
    io.lettuce.core.ScanCursor cursor = io.lettuce.core.ScanCursor.INITIAL;
    do {
      io.lettuce.core.KeyScanCursor<String> page =
          sync.scan(cursor, ScanArgs.Builder.matches(prefix + "*").limit(100));
      keys.addAll(page.getKeys());
      cursor = page;
    } while (!cursor.isFinished());
    return keys;
  }

  /**
   * Waits, bounded, for something another thread does (Redis's copy is written without waiting).
   */
  private static void awaitTrue(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("waiting for " + what).isNegative();
      LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
    }
  }

  private static boolean redisAnswers() {
    try (Socket s = new Socket()) {
      s.connect(
          new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 6379), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
