package dev.penstock.cli;

import dev.penstock.cli.bench.BenchOptions;
import dev.penstock.cli.bench.BenchResult;
import dev.penstock.cli.bench.BenchRun;
import dev.penstock.cli.bench.Header;
import dev.penstock.cli.bench.HtmlReport;
import dev.penstock.cli.bench.Percentiles;
import dev.penstock.cli.bench.ProgressListener;
import dev.penstock.cli.bench.ProgressStyle;
import dev.penstock.cli.bench.Rate;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.http.GatewayServer;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code penstock demo}: the showcase. A simulated provider with several rate-limited keys, a
 * gateway in front of all but one of them, and the same load sent at once straight to the spare key
 * and through the gateway; then the two side by side. Needs nothing but a JDK.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Shows what Penstock does, with nothing but a JDK.",
      "The same load is sent at once straight to one rate-limited key and through Penstock over"
          + " a pool of keys; then the two results side by side."
    })
final class DemoCommand implements Callable<Integer> {
  private final ProgressStyle progressStyle;

  @Spec CommandSpec spec;

  @Option(
      names = "--keys",
      defaultValue = "6",
      description = "Keys in Penstock's pool (default: ${DEFAULT-VALUE}).")
  int keys = 6;

  @Option(
      names = "--rpm",
      defaultValue = "200",
      description = "Each key's RPM limit (default: ${DEFAULT-VALUE}).")
  long rpm = 200;

  @Option(
      names = "--tpm",
      defaultValue = "40000",
      description = "Each key's TPM limit (default: ${DEFAULT-VALUE}).")
  long tpm = 40_000;

  @Option(
      names = "--rate",
      defaultValue = "1500/min",
      description = "The offered load (default: ${DEFAULT-VALUE}).")
  String rate = "1500/min";

  @Option(
      names = "--duration",
      defaultValue = "120",
      description = "Seconds of load (default: ${DEFAULT-VALUE}).")
  long durationSeconds = 120;

  @Option(
      names = "--timeout-ms",
      defaultValue = "20000",
      description = "Each request's deadline through Penstock (default: ${DEFAULT-VALUE}).")
  long timeoutMillis = 20_000;

  @Option(
      names = "--reports",
      description = "Directory for the two HTML reports (default: none written).")
  @Nullable Path reports;

  @Option(
      names = "--cluster",
      paramLabel = "N",
      description =
          "Run N gateway instances as child processes sharing the pool's limits through Redis"
              + " (cluster mode), offer the load to all of them, and show per-instance and combined"
              + " figures (default: one gateway in this process, against a lone key).")
  int cluster;

  @Option(
      names = "--redis-url",
      defaultValue = "redis://127.0.0.1:6379/0",
      description = "With --cluster: the cluster's Redis (default: ${DEFAULT-VALUE}).")
  String redisUrl = "redis://127.0.0.1:6379/0";

  @Option(
      names = "--postgres-url",
      description =
          "With --cluster: shared storage for the instances, postgresql://user@host:port/db"
              + " (default: an embedded database per instance).")
  @Nullable String postgresUrl;

  @Option(
      names = "--stay",
      description = "Keep the gateway and its dashboard running after the summary, until Ctrl-C.")
  boolean stay;

  /**
   * With the progress style decided at startup: redrawn in place on a terminal, lines otherwise.
   */
  DemoCommand(ProgressStyle progressStyle) {
    this.progressStyle = progressStyle;
  }

  @Override
  public Integer call() throws Exception {
    PrintStream out = System.out;
    if (cluster != 0) {
      return clusterDemo(out);
    }
    List<String> poolKeys = new java.util.ArrayList<>();
    MockConfig.Builder mockConfig =
        MockConfig.builder().port(0).latency(new LatencyModel(250, 5, 0.2)).outputTokens(48);
    for (int i = 0; i < keys; i++) {
      String secret = "sk-demo-pool-" + i + "-" + Long.toHexString(System.nanoTime());
      poolKeys.add(secret);
      mockConfig.addKey(KeySpec.of("pool-" + i, secret, rpm, tpm));
    }
    String lone = "sk-demo-lone-" + Long.toHexString(System.nanoTime());
    mockConfig.addKey(KeySpec.of("lone", lone, rpm, tpm));

    // The demo prints its own account of the gateway; the gateway's start-up lines (where it
    // listens, its storage) would land in the middle of it.
    if (org.slf4j.LoggerFactory.getLogger(GatewayServer.class)
        instanceof ch.qos.logback.classic.Logger logger) {
      logger.setLevel(ch.qos.logback.classic.Level.WARN);
    }
    try (MockServer mock = MockServer.start(mockConfig.build());
        GatewayServer gateway = GatewayServer.start(gatewayConfig(mock, poolKeys))) {
      Rate offered = Rate.parse(rate);
      out.printf(
          Locale.ROOT,
          "%nPenstock demo: %d simulated keys of %d RPM / %,d TPM each (a provider simulator on %s).%n"
              + "Offering %.0f requests per minute for %d s, at the same time:%n"
              + "  A) straight to one key, as an app without Penstock would;%n"
              + "  B) through Penstock at %s, which paces a pool of %d keys (capacity %d RPM).%n%n"
              + "Watch the pool work: open %s in a browser while the demo runs%n"
              + "(metrics for Prometheus at %s).%n%n",
          keys + 1,
          rpm,
          tpm,
          mock.baseUrl(),
          offered.perMinute(),
          durationSeconds,
          gateway.baseUrl(),
          keys,
          keys * rpm,
          gateway.dashboardUrl(),
          gateway.dashboardUrl().replace("/ui", "/metrics"));
      DemoProgress progress = new DemoProgress(progressStyle.printer(spec.commandLine().getErr()));
      BenchOptions direct = options(mock.baseUrl(), lone, offered, List.of());
      BenchOptions pooled =
          options(
              gateway.baseUrl(),
              "sk-demo-client",
              offered,
              List.of(new Header("x-penstock-timeout-ms", Long.toString(timeoutMillis))));
      BenchResult a;
      BenchResult b;
      try (ExecutorService runs = Executors.newVirtualThreadPerTaskExecutor()) {
        CompletableFuture<BenchResult> directRun =
            CompletableFuture.supplyAsync(() -> run(direct, progress.side("A")), runs);
        CompletableFuture<BenchResult> pooledRun =
            CompletableFuture.supplyAsync(() -> run(pooled, progress.side("B")), runs);
        a = directRun.join();
        b = pooledRun.join();
      }
      progress.finish();
      List<KeyStats> stats = mock.stats();
      new DemoSummary(a, b, stats, keys, rpm).print(out);
      if (reports != null) {
        Files.createDirectories(reports);
        Files.writeString(
            reports.resolve("demo-direct.html"), HtmlReport.render(a), StandardCharsets.UTF_8);
        Files.writeString(
            reports.resolve("demo-penstock.html"), HtmlReport.render(b), StandardCharsets.UTF_8);
        out.printf(
            "Reports: %s and %s%n",
            reports.resolve("demo-direct.html"), reports.resolve("demo-penstock.html"));
      }
      if (stay) {
        out.printf("%nThe gateway stays up: %s (Ctrl-C stops).%n", gateway.dashboardUrl());
        out.flush();
        UntilInterrupted.run(() -> {});
      }
    }
    return 0;
  }

  /** {@code --cluster N}: the instances are child processes; see {@link ClusterDemo}. */
  private int clusterDemo(PrintStream out) throws Exception {
    if (cluster < 1 || cluster > 16) {
      spec.commandLine().getErr().println("penstock demo: --cluster must be 1 to 16");
      return 2;
    }
    if (stay || reports != null) {
      spec.commandLine()
          .getErr()
          .println("penstock demo: --stay and --reports are not for --cluster");
      return 2;
    }
    ClusterDemo.Settings settings =
        new ClusterDemo.Settings(
            cluster,
            keys,
            rpm,
            tpm,
            Rate.parse(rate),
            Duration.ofSeconds(durationSeconds),
            timeoutMillis,
            redisUrl,
            postgresUrl);
    java.io.PrintWriter err = spec.commandLine().getErr();
    return new ClusterDemo(settings, out, err, progressStyle.printer(err)).run();
  }

  private static BenchResult run(BenchOptions options, ProgressListener listener) {
    try {
      return BenchRun.run(options, listener);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private BenchOptions options(String baseUrl, String key, Rate offered, List<Header> headers) {
    BenchOptions.Builder builder =
        BenchOptions.builder()
            .baseUrl(URI.create(baseUrl))
            .apiKey(key)
            .model("gpt-4o-mini")
            .rate(offered)
            .duration(Duration.ofSeconds(durationSeconds))
            .promptTokens(120)
            .maxTokens(64)
            .timeout(Duration.ofMillis(timeoutMillis + 30_000))
            .limitRpm(keys * rpm);
    headers.forEach(builder::header);
    return builder.build();
  }

  private GatewayConfig gatewayConfig(MockServer mock, List<String> poolKeys)
      throws java.io.IOException {
    StringBuilder yaml =
        new StringBuilder(
            // One access log line per request would bury the demo's progress line.
            """
            listen: 127.0.0.1:0
            logging: {access_log: false}
            models:
              gpt-4o-mini:
                deployments:
            """);
    for (int i = 0; i < poolKeys.size(); i++) {
      yaml.append(
          String.format(
              Locale.ROOT,
              "      - {name: key-%d, base_url: \"%s\", api_key: \"%s\", rpm: %d, tpm: %d}%n",
              i,
              mock.baseUrl(),
              poolKeys.get(i),
              rpm,
              tpm));
    }
    // The demo leaves nothing behind in the working directory: its ledger lives in a temp dir.
    return new ConfigLoader(Map.<String, String>of()::get)
        .parse(yaml.toString(), "demo", Files.createTempDirectory("penstock-demo-"));
  }

  /** The side-by-side table. */
  private record DemoSummary(
      BenchResult direct, BenchResult pooled, List<KeyStats> keys, int poolSize, long rpm) {
    void print(PrintStream out) {
      KeyStats lone = keys.getLast();
      List<KeyStats> pool = keys.subList(0, keys.size() - 1);
      long upstream429 = pool.stream().mapToLong(KeyStats::rateLimited).sum();
      long peak1s = pool.stream().mapToLong(KeyStats::peakRequests1s).max().orElse(0);
      long peak60s = pool.stream().mapToLong(KeyStats::peakRequests60s).max().orElse(0);
      out.println();
      row(out, "", "A) straight to one key", "B) through Penstock");
      row(out, "", "-".repeat(24), "-".repeat(24));
      row(
          out,
          "offered",
          perMinute(direct.offeredPerMinute()),
          perMinute(pooled.offeredPerMinute()));
      row(
          out,
          "delivered (2xx)",
          perMinute(direct.throughputPerMinute()),
          perMinute(pooled.throughputPerMinute())
              + String.format(
                  Locale.ROOT,
                  " (%.1f%% of %d)",
                  100 * pooled.throughputPerMinute() / (poolSize * rpm),
                  poolSize * rpm));
      row(
          out,
          "429s from the provider",
          Long.toString(lone.rateLimited()),
          Long.toString(upstream429));
      row(
          out,
          "429s from Penstock",
          "-",
          count(pooled, "429")
              + (count(pooled, "429").equals("0")
                  ? ""
                  : " (deadline would pass; with Retry-After)"));
      row(out, "other errors", Long.toString(errors(direct)), Long.toString(errors(pooled)));
      row(
          out,
          "latency p50 / p90 / p99",
          percentiles(direct.latency()),
          percentiles(pooled.latency()));
      row(
          out,
          "queue wait p50 / p99",
          "-",
          pooled.queue().isEmpty()
              ? "-"
              : seconds(pooled.queue().p50Millis()) + " / " + seconds(pooled.queue().p99Millis()));
      row(
          out,
          "most requests a key got",
          lone.peakRequests60s() + " in 60 s, " + lone.peakRequests1s() + " in 1 s",
          peak60s + " in 60 s, " + peak1s + " in 1 s");
      out.println();
      out.printf(
          Locale.ROOT,
          "Penstock delivered %.0f RPM with %d provider 429s; one key alone managed %.0f RPM and answered %d 429s.%n",
          pooled.throughputPerMinute(),
          upstream429,
          direct.throughputPerMinute(),
          lone.rateLimited());
    }

    private static void row(PrintStream out, String label, String a, String b) {
      out.printf(Locale.ROOT, "  %-26s %-30s %s%n", label, a, b);
    }

    private static String perMinute(double value) {
      return String.format(Locale.ROOT, "%.0f RPM", value);
    }

    private static String count(BenchResult result, String label) {
      return Long.toString(result.statusCounts().getOrDefault(label, 0L));
    }

    private static long errors(BenchResult result) {
      return result.statusCounts().entrySet().stream()
          .filter(e -> !e.getKey().equals("2xx") && !e.getKey().equals("429"))
          .mapToLong(Map.Entry::getValue)
          .sum();
    }

    private static String percentiles(Percentiles p) {
      return p.isEmpty()
          ? "-"
          : seconds(p.p50Millis())
              + " / "
              + seconds(p.p90Millis())
              + " / "
              + seconds(p.p99Millis());
    }

    private static String seconds(double millis) {
      return millis < 1000
          ? String.format(Locale.ROOT, "%.0f ms", millis)
          : String.format(Locale.ROOT, "%.1f s", millis / 1000);
    }
  }
}
