package dev.penstock.server.ui;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.http.GatewayServer;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.testing.GatewayFixture;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The live dashboard in a real headless browser (Debian's Chromium driven by playwright-core): a
 * gateway with an admin key serves a saturated pool, and the page must show every deployment, the
 * recent errors and four charts that drew their data — judged from the screenshots' pixels.
 *
 * <p>Needs node, {@code /usr/bin/chromium} and {@code npm ci} in {@code src/test/ui} ({@code
 * bin/test} and {@code .ci/run} provide them). Without them the test fails with what is missing,
 * unless {@code PENSTOCK_SKIP_BROWSER=1} says to skip it.
 */
@Tag("e2e")
class DashboardBrowserTest {
  private static final String ADMIN_KEY = "adm-browser-test-0f9e";
  private static final Path UI_TEST = Path.of("src/test/ui");
  private static final int TOLERANCE = 8;

  /**
   * A running batch as the state's {@code batches} field holds it, put into every state the page
   * receives (the checker's PENSTOCK_UI_BATCHES): 600 of 1,000 lines done, 50 failed, 350 pending.
   */
  private static final String BATCHES =
      """
      [{"id":"batch_0123456789abcdef01234567","object":"batch","endpoint":"/v1/chat/completions",      "status":"in_progress","created_at":1797243300,      "request_counts":{"total":1000,"completed":600,"failed":50},      "owner":{"id":"key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D","name":"team-a"},      "progress":{"pending":350,"claimed":8,"done":600,"failed":50,"lines_per_minute":1200,      "eta_seconds":null}}]""";

  @Test
  void showsThePoolWorkingWithChartsThatDrewTheirData() throws Exception {
    Path chromium = Path.of(System.getenv().getOrDefault("PENSTOCK_CHROMIUM", "/usr/bin/chromium"));
    boolean ready =
        Files.isExecutable(chromium)
            && Files.isDirectory(UI_TEST.resolve("node_modules/playwright-core"));
    if ("1".equals(System.getenv("PENSTOCK_SKIP_BROWSER"))) {
      Assumptions.assumeTrue(ready, "PENSTOCK_SKIP_BROWSER=1 and no browser here");
    }
    assertThat(ready)
        .as(
            "the browser test needs %s (apt-get install chromium) and playwright-core"
                + " (npm ci --prefix penstock-server/src/test/ui); bin/test installs both",
            chromium)
        .isTrue();

    // Two keys of 120 RPM under about 6 requests a second: the queue grows, the meters fill.
    try (GatewayFixture fixture =
            GatewayFixture.start(
                MockConfig.builder()
                    .port(0)
                    .latency(new LatencyModel(40, 1, 0))
                    .outputTokens(16)
                    .addKey(KeySpec.of("a", "sk-browser-a-1111", 120, 1_000_000))
                    .addKey(KeySpec.of("b", "sk-browser-b-2222", 120, 1_000_000))
                    .build(),
                """
                listen: 127.0.0.1:0
                admin_key: %s
                logging: {access_log: false}
                models:
                  gpt-4o-mini:
                    deployments:
                      - {name: key-a, base_url: "${MOCK}", api_key: sk-browser-a-1111, rpm: 120, tpm: 1000000}
                      - {name: key-b, base_url: "${MOCK}", api_key: sk-browser-b-2222, rpm: 120, tpm: 1000000}
                """
                    .formatted(ADMIN_KEY));
        Traffic traffic = new Traffic(fixture.baseUrl())) {
      GatewayServer gateway = fixture.gateway();
      traffic.start();
      Path out = Files.createDirectories(Path.of("target/dashboard-check"));
      ProcessBuilder check =
          new ProcessBuilder(
                  "node",
                  "check-dashboard.mjs",
                  gateway.dashboardUrl(),
                  out.toAbsolutePath().toString(),
                  ADMIN_KEY)
              .directory(UI_TEST.toFile())
              .redirectErrorStream(true)
              .redirectOutput(out.resolve("checker.log").toFile());
      check.environment().put("PENSTOCK_UI_BATCHES", BATCHES);
      Process checker = check.start();
      boolean finished = checker.waitFor(120, TimeUnit.SECONDS);
      if (!finished) {
        checker.destroyForcibly();
      }
      String log = Files.readString(out.resolve("checker.log"), StandardCharsets.UTF_8);
      assertThat(finished).as("checker finished; its output:%n%s", log).isTrue();
      assertThat(checker.exitValue()).as("checker's exit; its output:%n%s", log).isZero();

      JsonNode result = RequestReader.JSON.readTree(out.resolve("result.json").toFile());
      assertThat(result.path("ok").asBoolean()).as(result.toString()).isTrue();
      assertThat(result.path("consoleErrors")).as("console errors").isEmpty();
      assertThat(result.path("failedRequests")).as("failed requests").isEmpty();
      assertThat(texts(result.path("deployments"))).containsExactlyInAnyOrder("key-a", "key-b");
      assertThat(result.path("errorsTableRows").asInt())
          .as("the bad requests sent appear in the recent errors table")
          .isPositive();

      assertThat(result.path("batchesHidden").asBoolean(true)).as("Batches panel hidden").isFalse();
      JsonNode batch = result.path("batches").path(0);
      assertThat(result.path("batches").size()).as(result.path("batches").toString()).isOne();
      assertThat(batch.path("id").asText()).isEqualTo("batch_0123456789abcdef01234567");
      assertThat(texts(batch.path("cells")))
          .containsExactly(
              "batch_0123456789abcdef01234567",
              "team-a",
              "in progress",
              "65% 600 / 1,000 · 50 failed",
              "1,200",
              "—");
      assertThat(batch.path("done").asDouble()).isEqualTo(60.0);
      assertThat(batch.path("failed").asDouble()).isEqualTo(5.0);
      assertThat(batch.path("pending").asDouble()).isEqualTo(35.0);

      // Each chart drew its primary series, and the series with data rise off the zero line.
      for (String chart : new String[] {"throughput", "latency", "queue", "tokens"}) {
        Path png = out.resolve("chart-" + chart + ".png");
        assertThat(ScreenshotPixels.countColour(png, ScreenshotPixels.CHART_PRIMARY_RGB, TOLERANCE))
            .as("blue pixels of the %s chart (%s)", chart, png)
            .isGreaterThan(30);
      }
      for (String chart : new String[] {"throughput", "queue", "tokens"}) {
        Path png = out.resolve("chart-" + chart + ".png");
        assertThat(
                ScreenshotPixels.rowsWithColour(png, ScreenshotPixels.CHART_PRIMARY_RGB, TOLERANCE))
            .as("rows the %s chart's series covers (a flat zero line covers about 3)", chart)
            .isGreaterThan(10);
      }
    }
  }

  private static java.util.List<String> texts(JsonNode array) {
    java.util.List<String> out = new java.util.ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  /** About six requests a second, and a bad one now and then, until closed. */
  private static final class Traffic implements AutoCloseable {
    private final String baseUrl;
    private final HttpClient http = HttpClient.newHttpClient();
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor();
    private final AtomicInteger sent = new AtomicInteger();
    private final Semaphore inFlight = new Semaphore(200);
    private final List<ScheduledFuture<?>> ticks = new CopyOnWriteArrayList<>();

    Traffic(String baseUrl) {
      this.baseUrl = baseUrl;
    }

    /** One request every 166 ms, every twentieth of them malformed. */
    void start() {
      ticks.add(
          clock.scheduleAtFixedRate(
              () -> {
                String body =
                    sent.incrementAndGet() % 20 == 0
                        ? "{\"model\":\"gpt-4o-mini\""
                        : "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":16}";
                if (inFlight.tryAcquire()) {
                  threads.execute(() -> send(body));
                }
              },
              0,
              166,
              TimeUnit.MILLISECONDS));
    }

    private void send(String body) {
      try {
        http.send(
            HttpRequest.newBuilder(URI.create(baseUrl + "/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.discarding());
      } catch (Exception e) {
        // the gateway is stopping; the test is over
      } finally {
        inFlight.release();
      }
    }

    @Override
    public void close() {
      ticks.forEach(t -> t.cancel(false));
      clock.shutdownNow();
      threads.shutdownNow();
      http.shutdownNow();
    }
  }
}
