package dev.penstock.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A Penstock cluster of real processes for a test (SPEC 13): the provider simulator in the test's
 * JVM with strict per-key limits (the referee), a {@link RedisProcess} of the test's own, a fresh
 * PostgreSQL database ({@link Database}), and {@code n} {@link GatewayProcess}es with the same
 * {@code cluster:} name (unique per fixture, so a cluster never shares limits with another test's)
 * and the same {@code storage.postgres_url}.
 *
 * <p>The pool: model {@value #MODEL} over keys {@code a}, {@code b}, {@code c}; model {@value
 * #BATCH_MODEL} over key {@code batch} alone, so that a batch has capacity of its own while the
 * pool is saturated (batch lines are low priority and would otherwise wait for the load to end).
 */
public final class ClusterFixture implements AutoCloseable {
  /** The model the load uses: deployments {@code a}, {@code b}, {@code c}. */
  public static final String MODEL = "gpt-4o-mini";

  /** The model batches use: deployment {@code batch} alone. */
  public static final String BATCH_MODEL = "gpt-4o";

  /** The keys of the pool, by name. */
  public static final List<String> POOL = List.of("a", "b", "c");

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * The cluster's shape.
   *
   * @param instances gateway processes
   * @param keyRpm each pool key's RPM limit (simulator and gateway alike)
   * @param keyTpm each pool key's TPM limit
   * @param batchRpm the batch key's RPM limit
   * @param claimMillis {@code batches.claim_ms}
   * @param lineTimeoutMillis {@code batches.line_timeout_ms}
   * @param leaseMillis {@code cluster.lease_ms}
   * @param staticSplit give each gateway 1/instances of every key's limits in its config (the
   *     simulator keeps the whole): the harness's self-check, a cluster that is right by
   *     construction, without Redis's help, so that its assertions can be seen to pass
   */
  public record Shape(
      int instances,
      long keyRpm,
      long keyTpm,
      long batchRpm,
      long claimMillis,
      long lineTimeoutMillis,
      long leaseMillis,
      boolean staticSplit) {
    public long poolRpm() {
      return keyRpm * POOL.size();
    }
  }

  private final Path dir;
  private final Shape shape;
  private final String clusterName;
  private final MockServer mock;
  private final RedisProcess redis;
  private final Database database;
  private final List<@Nullable GatewayProcess> gateways = new ArrayList<>();
  private final long createdNanos = System.nanoTime();
  private double startSeconds;
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  private ClusterFixture(
      Path dir,
      Shape shape,
      String clusterName,
      MockServer mock,
      RedisProcess redis,
      Database database) {
    this.dir = dir;
    this.shape = shape;
    this.clusterName = clusterName;
    this.mock = mock;
    this.redis = redis;
    this.database = database;
  }

  /**
   * Starts everything; the gateways start at once (each is a cold JVM: in parallel they take a few
   * seconds, one after another three times that). Whatever started is closed if a later part fails.
   */
  public static ClusterFixture start(Path dir, Shape shape, long seed) {
    String suffix = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    String clusterName = "test-" + suffix;
    MockServer mock = null;
    RedisProcess redis = null;
    Database database = null;
    try {
      mock =
          MockServer.start(
              MockConfig.builder()
                  .port(0)
                  .seed(seed)
                  .outputTokens(8)
                  .latency(new LatencyModel(40, 2, 0.2))
                  .addKey(KeySpec.of("a", "sk-cluster-a-" + suffix, shape.keyRpm(), shape.keyTpm()))
                  .addKey(KeySpec.of("b", "sk-cluster-b-" + suffix, shape.keyRpm(), shape.keyTpm()))
                  .addKey(KeySpec.of("c", "sk-cluster-c-" + suffix, shape.keyRpm(), shape.keyTpm()))
                  .addKey(
                      KeySpec.of(
                          "batch", "sk-cluster-batch-" + suffix, shape.batchRpm(), 100_000_000))
                  .build());
      redis = RedisProcess.start(dir.resolve("redis"));
      database = Database.create();
      ClusterFixture fixture = new ClusterFixture(dir, shape, clusterName, mock, redis, database);
      try {
        fixture.startGateways(suffix);
        fixture.startSeconds = (System.nanoTime() - fixture.createdNanos) / 1e9;
      } catch (RuntimeException | Error e) {
        fixture.close();
        throw e;
      }
      return fixture;
    } catch (RuntimeException | Error e) {
      if (database != null) {
        database.close();
      }
      if (redis != null) {
        redis.close();
      }
      if (mock != null) {
        mock.close();
      }
      throw e;
    }
  }

  private void startGateways(String suffix) {
    List<Path> configs = new ArrayList<>();
    for (int i = 1; i <= shape.instances(); i++) {
      configs.add(writeConfig(i, suffix));
      gateways.add(null);
    }
    try (ExecutorService starts = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<GatewayProcess>> started = new ArrayList<>();
      for (int i = 0; i < configs.size(); i++) {
        Path config = configs.get(i);
        String name = "instance-" + (i + 1);
        started.add(starts.submit(() -> GatewayProcess.start(config, dir.resolve("logs"), name)));
      }
      List<Throwable> failures = new ArrayList<>();
      for (int i = 0; i < started.size(); i++) {
        try {
          gateways.set(i, started.get(i).get());
        } catch (java.util.concurrent.ExecutionException e) {
          failures.add(e.getCause() == null ? e : e.getCause());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          failures.add(e);
        }
      }
      if (!failures.isEmpty()) {
        AssertionError error =
            new AssertionError("a gateway did not start: " + failures.getFirst());
        failures.forEach(error::addSuppressed);
        throw error;
      }
    }
  }

  private Path writeConfig(int instance, String suffix) {
    String deployments =
        """
              - {name: a, base_url: "%1$s", api_key: "sk-cluster-a-%2$s", rpm: %3$d, tpm: %4$d}
              - {name: b, base_url: "%1$s", api_key: "sk-cluster-b-%2$s", rpm: %3$d, tpm: %4$d}
              - {name: c, base_url: "%1$s", api_key: "sk-cluster-c-%2$s", rpm: %3$d, tpm: %4$d}
        """
            .formatted(mock.baseUrl(), suffix, shape.keyRpm() / split(), shape.keyTpm() / split());
    String yaml =
        """
        listen: 127.0.0.1:0
        logging: {access_log: false}
        storage:
          path: "%s"
          postgres_url: "%s"
        cluster:
          name: %s
          redis_url: "%s"
          instances: %d
          lease_ms: %d
        batches:
          concurrency: 8
          claim_ms: %d
          line_timeout_ms: %d
        models:
          %s:
            deployments:
        %s
          %s:
            deployments:
              - {name: batch, base_url: "%s", api_key: "sk-cluster-batch-%s", rpm: %d, tpm: 100000000}
        """
            .formatted(
                dir.resolve("instance-" + instance).resolve("penstock.db"),
                database.url(),
                clusterName,
                redis.url(),
                shape.instances(),
                shape.leaseMillis(),
                shape.claimMillis(),
                shape.lineTimeoutMillis(),
                MODEL,
                deployments.stripTrailing(),
                BATCH_MODEL,
                mock.baseUrl(),
                suffix,
                shape.batchRpm() / split());
    Path file = dir.resolve("instance-" + instance + ".yaml");
    try {
      Files.writeString(file, yaml, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return file;
  }

  private int split() {
    return shape.staticSplit() ? shape.instances() : 1;
  }

  public Shape shape() {
    return shape;
  }

  /** How long the gateways took to start (all three, in parallel), for the report. */
  public double startSeconds() {
    return startSeconds;
  }

  public String clusterName() {
    return clusterName;
  }

  public MockServer mock() {
    return mock;
  }

  public RedisProcess redis() {
    return redis;
  }

  /**
   * A fresh database on the loopback PostgreSQL (user {@code postgres}, trust authentication),
   * {@code penstock_cluster_<random>}, made and dropped {@code WITH (FORCE)} through the {@code
   * postgres} database: the gateways a test killed may still hold connections to it.
   */
  record Database(String name) implements AutoCloseable {
    private static final String ADMIN_JDBC = "jdbc:postgresql://127.0.0.1:5432/postgres";

    static Database create() {
      byte[] random = new byte[8];
      ThreadLocalRandom.current().nextBytes(random);
      Database database = new Database("penstock_cluster_" + HexFormat.of().formatHex(random));
      admin("CREATE DATABASE " + database.name());
      return database;
    }

    /** {@code postgresql://postgres@127.0.0.1:5432/<name>}, as {@code storage.postgres_url}. */
    String url() {
      return "postgresql://postgres@127.0.0.1:5432/" + name;
    }

    private static void admin(String sql) {
      try (java.sql.Connection admin =
              java.sql.DriverManager.getConnection(ADMIN_JDBC, "postgres", "");
          java.sql.Statement statement = admin.createStatement()) {
        statement.execute(sql);
      } catch (java.sql.SQLException e) {
        throw new AssertionError(
            "PostgreSQL at 127.0.0.1:5432 (user postgres) refused '"
                + sql
                + "' (is it running? scripts/services.sh starts it): "
                + e.getMessage(),
            e);
      }
    }

    @Override
    public void close() {
      admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }
  }

  /** The cluster's database's name. */
  public String databaseName() {
    return database.name();
  }

  /** The running gateways (a killed one is no longer here). */
  public List<GatewayProcess> gateways() {
    List<GatewayProcess> running = new ArrayList<>();
    for (GatewayProcess g : gateways) {
      if (g != null) {
        running.add(g);
      }
    }
    return running;
  }

  public GatewayProcess gateway(int index) {
    GatewayProcess g = gateways.get(index);
    if (g == null) {
      throw new IllegalStateException("instance-" + (index + 1) + " was killed");
    }
    return g;
  }

  /** {@code kill -9} instance {@code index} (0-based); returns its exit status. */
  public int kill(int index) {
    int status = gateway(index).kill();
    gateways.set(index, null);
    return status;
  }

  /** The HTTP status of {@code GET /health/ready} on one gateway; -1 if it cannot be reached. */
  public int ready(GatewayProcess gateway) {
    return status(gateway, "/health/ready");
  }

  /**
   * Polls (bounded by {@code wait}) until {@code /health/ready} answers {@code status} on every
   * running gateway; returns the seconds it took, or -1 if the deadline passed first.
   */
  public double awaitReadiness(int status, Duration wait) {
    long start = System.nanoTime();
    long deadline = start + wait.toNanos();
    while (true) {
      if (gateways().stream().allMatch(g -> ready(g) == status)) {
        return (System.nanoTime() - start) / 1e9;
      }
      if (System.nanoTime() > deadline) {
        return -1;
      }
      LockSupport.parkNanos(100_000_000);
    }
  }

  private int status(GatewayProcess gateway, String path) {
    try {
      return http.send(
              HttpRequest.newBuilder(URI.create(gateway.root() + path))
                  .timeout(Duration.ofSeconds(5))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /**
   * {@code GET /admin/cluster} of one gateway (name, instance, connected, instances, lease_ms,
   * redis_calls), or empty where the endpoint does not exist (a build without cluster mode).
   */
  public Optional<JsonNode> clusterState(GatewayProcess gateway) {
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(URI.create(gateway.root() + "/admin/cluster"))
                  .timeout(Duration.ofSeconds(5))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200
          ? Optional.of(JSON.readTree(response.body()))
          : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /**
   * The sum of every sample of the metric {@code name} (all label sets) in one gateway's {@code
   * /metrics}, or empty if it has none.
   */
  public Optional<Double> metric(GatewayProcess gateway, String name) {
    return metric(gateway, name, line -> true);
  }

  /**
   * As {@link #metric(GatewayProcess, String)}, over the samples whose line passes {@code which}.
   */
  public Optional<Double> metric(GatewayProcess gateway, String name, Predicate<String> which) {
    String text;
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(URI.create(gateway.root() + "/metrics"))
                  .timeout(Duration.ofSeconds(5))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        return Optional.empty();
      }
      text = response.body();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
    Pattern sample = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*})?\\s+(\\S+)");
    double sum = 0;
    boolean found = false;
    for (String line : text.lines().toList()) {
      Matcher m = sample.matcher(line);
      if (m.find() && which.test(line)) {
        sum += Double.parseDouble(m.group(2));
        found = true;
      }
    }
    return found ? Optional.of(sum) : Optional.empty();
  }

  /**
   * One line per running gateway with what it says of the cluster: {@code /admin/cluster} and the
   * cluster metrics, "n/a" where this build has neither.
   */
  public String clusterReport() {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < gateways.size(); i++) {
      GatewayProcess g = gateways.get(i);
      if (g == null) {
        out.append(String.format(Locale.ROOT, "  instance-%d: killed%n", i + 1));
        continue;
      }
      Optional<Double> calls = metric(g, "penstock_cluster_redis_calls_total");
      Optional<Double> connected = metric(g, "penstock_cluster_connected");
      Optional<Double> requests = metric(g, "penstock_requests_total");
      Optional<Double> upstream429 = metric(g, "penstock_upstream_rate_limited_total");
      String perRequest =
          calls.isPresent() && requests.isPresent() && requests.get() > 0
              ? String.format(Locale.ROOT, "%.3f", calls.get() / requests.get())
              : "n/a";
      out.append(
          String.format(
              Locale.ROOT,
              "  instance-%d (port %d): ready %d, /admin/cluster %s, redis calls %s, requests %s,"
                  + " redis calls/request %s, connected %s, upstream 429s %s%n",
              i + 1,
              g.port(),
              ready(g),
              clusterState(g).map(JsonNode::toString).orElse("n/a"),
              calls.map(v -> String.format(Locale.ROOT, "%.0f", v)).orElse("n/a"),
              requests.map(v -> String.format(Locale.ROOT, "%.0f", v)).orElse("n/a"),
              perRequest,
              connected.map(v -> String.format(Locale.ROOT, "%.0f", v)).orElse("n/a"),
              upstream429.map(v -> String.format(Locale.ROOT, "%.0f", v)).orElse("0")));
    }
    return out.toString();
  }

  /** The tails of every gateway's logs, for a failure's report. */
  public String logTails() {
    StringBuilder out = new StringBuilder();
    for (GatewayProcess g : gateways()) {
      out.append(g.logTail());
    }
    return out.toString();
  }

  /** The figures of every key, from the simulator: one line each. */
  public String keyReport() {
    Map<String, String> lines = new TreeMap<>();
    for (dev.penstock.mock.KeyStats k : mock.stats()) {
      lines.put(
          k.name(),
          String.format(
              Locale.ROOT,
              "  key %-6s requests %6d ok %6d 429 %3d | peak 60 s %5d / %d RPM, %8d / %d TPM |"
                  + " peak 1 s %3d",
              k.name(),
              k.requests(),
              k.succeeded(),
              k.rateLimited(),
              k.peakRequests60s(),
              k.rpm(),
              k.peakTokens60s(),
              k.tpm(),
              k.peakRequests1s()));
    }
    return String.join("\n", lines.values()) + "\n";
  }

  public HttpClient http() {
    return http;
  }

  @Override
  public void close() {
    try {
      for (GatewayProcess g : gateways()) {
        g.close();
      }
    } finally {
      try {
        database.close();
      } finally {
        try {
          redis.close();
        } finally {
          try {
            mock.close();
          } finally {
            http.close();
          }
        }
      }
    }
  }
}
