package dev.penstock.cli;

import dev.penstock.cli.bench.BenchOptions;
import dev.penstock.cli.bench.BenchResult;
import dev.penstock.cli.bench.BenchRun;
import dev.penstock.cli.bench.Header;
import dev.penstock.cli.bench.ProgressListener;
import dev.penstock.cli.bench.ProgressPrinter;
import dev.penstock.cli.bench.Rate;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * {@code penstock demo --cluster N} (SPEC 13, docs/cluster-running.md): the simulator in this JVM,
 * N gateway instances as child processes ({@code java -cp <this class path> dev.penstock.cli.Main
 * serve --config <generated file>}) with one {@code cluster:} name and one Redis, each offered an
 * equal share of the load; then per-instance and combined figures against the pool's limits, as the
 * simulator (the referee) saw them.
 *
 * <p>The children are stopped on every way out: normally, on an error, and on Ctrl-C or {@code
 * SIGTERM} (a shutdown hook). A {@code kill -9} of the demo itself cannot be caught; the children
 * then keep running until stopped (their pids are printed at the start).
 */
final class ClusterDemo {
  /** How long a child gateway may take to start (a cold JVM, several at once). */
  private static final Duration START_WAIT = Duration.ofSeconds(90);

  /** How long a child may drain after SIGTERM before it is killed. */
  private static final Duration STOP_WAIT = Duration.ofSeconds(20);

  /**
   * What the demo was asked for.
   *
   * @param instances gateway processes
   * @param keys keys in the pool
   * @param rpm each key's RPM limit
   * @param tpm each key's TPM limit
   * @param rate the offered load over all instances
   * @param duration how long the load is offered
   * @param timeoutMillis each request's deadline through Penstock
   * @param redisUrl the cluster's Redis
   * @param postgresUrl shared storage, or null for an embedded database per instance
   */
  record Settings(
      int instances,
      int keys,
      long rpm,
      long tpm,
      Rate rate,
      Duration duration,
      long timeoutMillis,
      String redisUrl,
      @Nullable String postgresUrl) {}

  /** One child gateway: its process, port and log. */
  private record Instance(String name, Process process, int port, Path log) {
    String baseUrl() {
      return "http://127.0.0.1:" + port + "/v1";
    }

    String root() {
      return "http://127.0.0.1:" + port;
    }
  }

  private final Settings settings;
  private final PrintStream out;
  private final PrintWriter err;
  private final ProgressPrinter printer;
  private final List<Instance> children = new ArrayList<>();

  ClusterDemo(Settings settings, PrintStream out, PrintWriter err, ProgressPrinter printer) {
    this.settings = settings;
    this.out = out;
    this.err = err;
    this.printer = printer;
  }

  /** Runs the demo; the exit code (1 if Redis cannot be reached or an instance fails to start). */
  int run() throws IOException, InterruptedException {
    URI redis = URI.create(settings.redisUrl());
    String redisHost = redis.getHost() == null ? "127.0.0.1" : redis.getHost();
    int redisPort = redis.getPort() < 0 ? 6379 : redis.getPort();
    if (!redisAnswers(redisHost, redisPort)) {
      err.printf(
          Locale.ROOT,
          "penstock demo --cluster: Redis is not reachable at %s:%d. Cluster mode shares each key's"
              + " limits through Redis: start one (redis-server --save \"\" --appendonly no) or"
              + " pass --redis-url redis://host:port/0.%n",
          redisHost,
          redisPort);
      err.flush();
      return 1;
    }
    String suffix = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    String clusterName = "demo-" + suffix;
    List<String> secrets = new ArrayList<>();
    MockConfig.Builder mockConfig =
        MockConfig.builder().port(0).latency(new LatencyModel(250, 5, 0.2)).outputTokens(48);
    for (int i = 0; i < settings.keys(); i++) {
      String secret = "sk-demo-pool-" + i + "-" + suffix;
      secrets.add(secret);
      mockConfig.addKey(KeySpec.of("pool-" + i, secret, settings.rpm(), settings.tpm()));
    }
    Path work = Files.createTempDirectory("penstock-demo-cluster-");
    Thread stopper = new Thread(this::stopChildren, "penstock-demo-cluster-stop");
    Runtime.getRuntime().addShutdownHook(stopper);
    try (MockServer mock = MockServer.start(mockConfig.build())) {
      for (int i = 1; i <= settings.instances(); i++) {
        Instance child = startChild(work, i, configYaml(mock, secrets, clusterName, work, i));
        synchronized (children) {
          children.add(child);
        }
      }
      out.printf(
          Locale.ROOT,
          "%nPenstock demo, cluster of %d: %d simulated keys of %d RPM / %,d TPM each (pool %d RPM,"
              + " a provider simulator on %s);%ncluster '%s' on Redis %s:%d, %s; files in %s.%n",
          settings.instances(),
          settings.keys(),
          settings.rpm(),
          settings.tpm(),
          settings.keys() * settings.rpm(),
          mock.baseUrl(),
          clusterName,
          redisHost,
          redisPort,
          settings.postgresUrl() == null
              ? "an embedded database per instance"
              : "shared PostgreSQL storage",
          work);
      for (Instance child : children) {
        out.printf(
            Locale.ROOT,
            "  %s: pid %d, %s (dashboard %s/ui)%n",
            child.name(),
            child.process().pid(),
            child.baseUrl(),
            child.root());
      }
      if (!awaitLive()) {
        return 1;
      }
      double perInstance = settings.rate().perMinute() / settings.instances();
      out.printf(
          Locale.ROOT,
          "Offering %.0f requests per minute for %d s: %.0f/min to each instance, as a load"
              + " balancer would.%n%n",
          settings.rate().perMinute(),
          settings.duration().toSeconds(),
          perInstance);
      out.flush();
      List<String> names = children.stream().map(Instance::name).toList();
      DemoProgress progress = new DemoProgress(printer, names);
      List<BenchResult> results = new ArrayList<>();
      try (ExecutorService runs = Executors.newVirtualThreadPerTaskExecutor()) {
        List<CompletableFuture<BenchResult>> futures = new ArrayList<>();
        for (Instance child : children) {
          BenchOptions options = options(child, Rate.perMinute(perInstance));
          ProgressListener listener = progress.side(child.name());
          futures.add(CompletableFuture.supplyAsync(() -> bench(options, listener), runs));
        }
        for (CompletableFuture<BenchResult> f : futures) {
          results.add(f.join());
        }
      }
      progress.finish();
      summary(results, mock.stats());
      return 0;
    } finally {
      stopChildren();
      try {
        Runtime.getRuntime().removeShutdownHook(stopper);
      } catch (IllegalStateException e) {
        // the JVM is shutting down: the hook runs anyway
      }
    }
  }

  private BenchOptions options(Instance child, Rate rate) {
    return BenchOptions.builder()
        .baseUrl(URI.create(child.baseUrl()))
        .apiKey("sk-demo-client")
        .model("gpt-4o-mini")
        .rate(rate)
        .duration(settings.duration())
        .promptTokens(120)
        .maxTokens(64)
        .timeout(Duration.ofMillis(settings.timeoutMillis() + 30_000))
        .header(new Header("x-penstock-timeout-ms", Long.toString(settings.timeoutMillis())))
        .build();
  }

  private static BenchResult bench(BenchOptions options, ProgressListener listener) {
    try {
      return BenchRun.run(options, listener);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private String configYaml(
      MockServer mock, List<String> secrets, String clusterName, Path work, int instance) {
    StringBuilder yaml = new StringBuilder();
    yaml.append("listen: 127.0.0.1:").append(freePort()).append('\n');
    // One access log line per request would bury the instance's own log.
    yaml.append("logging: {access_log: false}\n");
    yaml.append("storage:\n");
    yaml.append("  path: \"")
        .append(work.resolve("instance-" + instance).resolve("penstock.db"))
        .append("\"\n");
    if (settings.postgresUrl() != null) {
      yaml.append("  postgres_url: \"${PENSTOCK_DEMO_POSTGRES_URL}\"\n");
    }
    yaml.append("cluster:\n")
        .append("  name: ")
        .append(clusterName)
        .append('\n')
        .append("  redis_url: \"${PENSTOCK_DEMO_REDIS_URL}\"\n")
        .append("  instances: ")
        .append(settings.instances())
        .append('\n');
    yaml.append("models:\n  gpt-4o-mini:\n    deployments:\n");
    for (int i = 0; i < secrets.size(); i++) {
      yaml.append(
          String.format(
              Locale.ROOT,
              "      - {name: key-%d, base_url: \"%s\", api_key: \"%s\", rpm: %d, tpm: %d}%n",
              i,
              mock.baseUrl(),
              secrets.get(i),
              settings.rpm(),
              settings.tpm()));
    }
    return yaml.toString();
  }

  /**
   * Starts {@code penstock serve} for one instance: this JVM's java and class path, the config in
   * the work directory, the URLs that may hold passwords in its environment rather than the file.
   */
  private Instance startChild(Path work, int index, String yaml) throws IOException {
    String name = "instance-" + index;
    Path config = work.resolve(name + ".yaml");
    Files.writeString(config, yaml, StandardCharsets.UTF_8);
    int port = listenPort(yaml);
    Path log = work.resolve(name + ".log");
    List<String> command = new ArrayList<>();
    command.add(
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.add("--add-exports=java.base/sun.nio.ch=ALL-UNNAMED");
    command.add("--enable-native-access=ALL-UNNAMED");
    command.add("-Xmx512m");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.add("serve");
    command.add("--config");
    command.add(config.toString());
    command.add("--no-watch");
    command.add("--log-format");
    command.add("plain");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("PENSTOCK_DEMO_REDIS_URL", settings.redisUrl());
    if (settings.postgresUrl() != null) {
      builder.environment().put("PENSTOCK_DEMO_POSTGRES_URL", settings.postgresUrl());
    }
    return new Instance(name, builder.start(), port, log);
  }

  private static int listenPort(String yaml) {
    String first = yaml.lines().findFirst().orElseThrow();
    return Integer.parseInt(first.substring(first.lastIndexOf(':') + 1).strip());
  }

  /** Polls every instance's {@code /health/live} (bounded); false, with its log, if one fails. */
  private boolean awaitLive() throws InterruptedException {
    long deadline = System.nanoTime() + START_WAIT.toNanos();
    try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
      for (Instance child : children) {
        while (!live(http, child)) {
          if (!child.process().isAlive() || System.nanoTime() > deadline) {
            err.printf(
                Locale.ROOT,
                "penstock demo --cluster: %s %s; its log (%s):%n%s%n",
                child.name(),
                child.process().isAlive()
                    ? "did not start within " + START_WAIT.toSeconds() + " s"
                    : "exited with " + child.process().exitValue(),
                child.log(),
                tail(child.log()));
            err.flush();
            return false;
          }
          LockSupport.parkNanos(100_000_000);
        }
      }
    }
    return true;
  }

  private static boolean live(HttpClient http, Instance child) throws InterruptedException {
    try {
      return http.send(
                  HttpRequest.newBuilder(URI.create(child.root() + "/health/live"))
                      .timeout(Duration.ofSeconds(2))
                      .build(),
                  HttpResponse.BodyHandlers.discarding())
              .statusCode()
          == 200;
    } catch (IOException e) {
      return false;
    }
  }

  /** {@code /admin/cluster} of one instance as one line, or "n/a" where it has none. */
  private static String clusterState(HttpClient http, Instance child) {
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(URI.create(child.root() + "/admin/cluster"))
                  .timeout(Duration.ofSeconds(2))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? response.body().strip() : "n/a";
    } catch (IOException e) {
      return "n/a";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "n/a";
    }
  }

  private void summary(List<BenchResult> results, List<KeyStats> keys) {
    long poolRpm = settings.keys() * settings.rpm();
    out.println();
    out.printf(
        Locale.ROOT,
        "  %-12s %8s %9s %8s %12s %12s %7s%n",
        "",
        "sent",
        "answered",
        "2xx",
        "RPM (2xx)",
        "penstock 429",
        "errors");
    long sent = 0;
    long answered = 0;
    long ok = 0;
    long gateway429 = 0;
    long errors = 0;
    double rpm = 0;
    try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
      for (int i = 0; i < results.size(); i++) {
        BenchResult r = results.get(i);
        long rl = r.statusCounts().getOrDefault("429", 0L);
        long other = r.completed() - r.succeeded() - rl;
        row(
            children.get(i).name(),
            r.sent(),
            r.completed(),
            r.succeeded(),
            r.throughputPerMinute(),
            rl,
            other);
        sent += r.sent();
        answered += r.completed();
        ok += r.succeeded();
        gateway429 += rl;
        errors += other;
        rpm += r.throughputPerMinute();
      }
      row("combined", sent, answered, ok, rpm, gateway429, errors);
      out.printf(
          Locale.ROOT,
          "  delivered %.0f RPM = %.1f%% of the pool's %d RPM%s%n%n",
          rpm,
          100 * rpm / poolRpm,
          poolRpm,
          settings.duration().toSeconds() < 60
              ? " (a run shorter than 60 s may exceed it: no 60 s window has filled)"
              : "");
      long upstream429 = keys.stream().mapToLong(KeyStats::rateLimited).sum();
      out.printf(
          Locale.ROOT,
          "  %-8s %9s %5s %22s %26s %9s%n",
          "key",
          "requests",
          "429",
          "max 60 s window / RPM",
          "max 60 s tokens / TPM",
          "max 1 s");
      boolean over = false;
      for (KeyStats k : keys) {
        boolean keyOver = k.peakRequests60s() > k.rpm() || k.peakTokens60s() > k.tpm();
        over |= keyOver;
        out.printf(
            Locale.ROOT,
            "  %-8s %9d %5d %22s %26s %9d%s%n",
            k.name(),
            k.requests(),
            k.rateLimited(),
            k.peakRequests60s() + " / " + k.rpm(),
            k.peakTokens60s() + " / " + k.tpm(),
            k.peakRequests1s(),
            keyOver ? "  OVER" : "");
      }
      out.println();
      for (Instance child : children) {
        out.printf(
            Locale.ROOT, "  %s /admin/cluster: %s%n", child.name(), clusterState(http, child));
      }
      out.println();
      out.printf(
          Locale.ROOT,
          "%d instances delivered %.0f RPM together with %d provider 429s; %s%n",
          children.size(),
          rpm,
          upstream429,
          over
              ? "a key saw a 60 s window over its limit (is cluster mode in this build?)."
              : "no key saw a 60 s window over its limit.");
    }
  }

  private void row(
      String name, long sent, long answered, long ok, double rpm, long gateway429, long errors) {
    out.printf(
        Locale.ROOT,
        "  %-12s %8d %9d %8d %12.0f %12d %7d%n",
        name,
        sent,
        answered,
        ok,
        rpm,
        gateway429,
        errors);
  }

  /**
   * Stops every child: SIGTERM (each drains its requests in flight), then, after {@link
   * #STOP_WAIT}, SIGKILL for any still running. Called on the normal path and by the shutdown hook;
   * safe to call twice.
   */
  private void stopChildren() {
    List<Instance> running;
    synchronized (children) {
      running = List.copyOf(children);
    }
    for (Instance child : running) {
      child.process().destroy();
    }
    long deadline = System.nanoTime() + STOP_WAIT.toNanos();
    for (Instance child : running) {
      try {
        long left = Math.max(0, deadline - System.nanoTime());
        if (!child.process().waitFor(left, TimeUnit.NANOSECONDS)) {
          child.process().destroyForcibly();
          child.process().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        child.process().destroyForcibly();
      }
    }
  }

  /** Whether something on host:port answers a Redis {@code PING} (PONG, or an auth error). */
  static boolean redisAnswers(String host, int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), 2_000);
      socket.setSoTimeout(2_000);
      OutputStream o = socket.getOutputStream();
      o.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      o.flush();
      InputStream in = socket.getInputStream();
      int first = in.read();
      return first == '+' || first == '-';
    } catch (IOException e) {
      return false;
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(unreadable: " + e.getMessage() + ")";
    }
  }
}
