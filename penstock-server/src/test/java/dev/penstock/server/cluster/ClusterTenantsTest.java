package dev.penstock.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import dev.penstock.server.http.GatewayServer;
import dev.penstock.server.testing.GatewayFixture;
import dev.penstock.server.testing.PostgresDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A virtual key's own RPM and budget hold across two instances of a cluster (one PostgreSQL
 * database, one Redis): what one instance charged counts on the other once both have told and heard
 * (about a second).
 */
class ClusterTenantsTest {
  private static final String ADMIN = "adm-cluster-tenants-0123";
  private static final String UPSTREAM = "sk-cluster-tenants";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private final List<AutoCloseable> open = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : open.reversed()) {
      c.close();
    }
  }

  @Test
  void aKeysRpmAndBudgetCountWhatTheOtherInstanceCharged() throws Exception {
    PostgresDatabase database = PostgresDatabase.create();
    open.add(database);
    MockServer mock =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(new LatencyModel(1, 0, 0))
                .outputTokens(5)
                .seed(11)
                .addKey(KeySpec.of("up", UPSTREAM, 100_000, 100_000_000))
                .build());
    open.add(mock);
    String cluster = "tenants-" + UUID.randomUUID();
    GatewayServer a = gateway(mock, database, cluster, "a");
    GatewayServer b = gateway(mock, database, cluster, "b");

    String limited = create(a, "{\"name\": \"limited\", \"rpm\": 3}");
    String budgeted = create(a, "{\"name\": \"budgeted\", \"budget_usd_daily\": 0.03}");
    // Each request costs about $0.02 (10-odd prompt tokens at $1,000/1M, 5 output at $2,000/1M).
    assertThat(chat(a, limited).statusCode()).isEqualTo(200);
    assertThat(chat(a, limited).statusCode()).isEqualTo(200);
    assertThat(chat(a, budgeted).statusCode()).isEqualTo(200);
    assertThat(chat(a, budgeted).statusCode()).isEqualTo(200);

    // A tells, then B hears: each counted only once it completed after the requests above.
    awaitTurn("A tells what it charged", a.cluster().orElseThrow()::tenantSyncs);
    awaitTurn("B hears it", b.cluster().orElseThrow()::tenantSyncs);

    HttpResponse<String> third = chat(b, limited);
    assertThat(third.statusCode()).as(third.body()).isEqualTo(200);
    assertThat(third.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
    HttpResponse<String> fourth = chat(b, limited);
    assertThat(fourth.statusCode()).isEqualTo(429);
    assertThat(fourth.body()).contains("rate_limit_exceeded");

    HttpResponse<String> broke = chat(b, budgeted);
    assertThat(broke.statusCode()).isEqualTo(429);
    assertThat(broke.body()).contains("budget_exceeded");
  }

  private GatewayServer gateway(
      MockServer mock, PostgresDatabase database, String cluster, String name) {
    GatewayServer g =
        GatewayServer.builder(
                GatewayFixture.parse(
                    """
                    listen: 127.0.0.1:0
                    admin_key: %s
                    models:
                      gpt-4o-mini:
                        deployments:
                          - {name: up, base_url: "%s", api_key: "%s", rpm: 100000, tpm: 100000000}
                    pricing:
                      gpt-4o-mini: {input_per_1m: 1000, output_per_1m: 2000}
                    cache: {enabled: false}
                    storage: {path: "%s", postgres_url: "%s"}
                    cluster: {name: "%s", redis_url: "redis://127.0.0.1:6379/0", instances: 2}
                    """
                        .formatted(
                            ADMIN,
                            mock.baseUrl(),
                            UPSTREAM,
                            dir.resolve(name).resolve("p.db"),
                            database.url(),
                            cluster)))
            .start();
    open.add(g);
    return g;
  }

  /** Waits (bounded) until {@code turns} has counted two more: one that began after now. */
  private static void awaitTurn(String what, LongSupplier turns) {
    long target = turns.getAsLong() + 2;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (turns.getAsLong() < target) {
      assertThat(System.nanoTime() - deadline).as(what).isNegative();
      LockSupport.parkNanos(10_000_000);
    }
  }

  private String create(GatewayServer g, String body) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.port() + "/admin/keys"))
                .timeout(Duration.ofSeconds(10))
                .header("authorization", "Bearer " + ADMIN)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    JsonNode created = JSON.readTree(r.body());
    return created.path("key").asText();
  }

  private HttpResponse<String> chat(GatewayServer g, String key) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.port() + "/v1/chat/completions"))
            .timeout(Duration.ofSeconds(30))
            .header("authorization", "Bearer " + key)
            .header("content-type", "application/json")
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "{\"model\":\"gpt-4o-mini\",\"max_tokens\":5,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
