package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.config.ConfigReloader;
import dev.penstock.server.config.ConfigWatcher;
import dev.penstock.server.testing.GatewayFixture;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Configuration changes and shutdown under load lose nothing: clients keep sending while the file
 * is rewritten (a deployment added, one removed, a limit lowered, then an invalid file) and while
 * the gateway stops. The simulator referees the limits: a 429 from it would mean a limit broken.
 */
class HotReloadAndShutdownTest {
  @TempDir Path dir;

  private MockServer mock;
  private GatewayServer gateway;
  private ConfigWatcher watcher;
  private final HttpClient http = HttpClient.newHttpClient();

  private static final String CHAT =
      "{\"model\":\"m\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  @AfterEach
  void stop() {
    if (watcher != null) {
      watcher.close();
    }
    if (gateway != null) {
      try {
        // Reloads and shutdown under load must leave no reservation behind either.
        GatewayFixture.assertIdle(gateway);
      } finally {
        gateway.close();
      }
    }
    if (mock != null) {
      mock.close();
    }
    http.close();
  }

  private String config(String... deployments) {
    StringBuilder yaml = new StringBuilder("listen: 127.0.0.1:0\n");
    yaml.append("defaults: {pacing_guard_ms: 200, shutdown_grace_ms: 10000}\n");
    yaml.append("models:\n  m:\n    deployments:\n");
    for (String d : deployments) {
      yaml.append("      - ").append(d.replace("${MOCK}", mock.baseUrl())).append('\n');
    }
    return yaml.toString();
  }

  private static String deployment(String name, long rpm) {
    return "{name: %s, base_url: \"${MOCK}\", api_key: sk-up-%s-0001, rpm: %d, tpm: 10000000}"
        .formatted(name, name, rpm);
  }

  /** One client request's fate. */
  private record Sent(long startNanos, int status, String deployment) {}

  private Sent send(String body) {
    long start = System.nanoTime();
    try {
      HttpResponse<String> answer =
          http.send(
              HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/chat/completions"))
                  .timeout(Duration.ofSeconds(30)) // a bound: no answer in 30 s is a lost request
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return new Sent(
          start,
          answer.statusCode(),
          answer.headers().firstValue("x-penstock-deployment").orElse(""));
    } catch (Exception e) {
      if (e instanceof java.net.http.HttpTimeoutException
          && firstStall.compareAndSet(false, true)) {
        stalls.add(snapshot()); // the first lost request: where everything stood
      }
      return new Sent(start, -1, e.getClass().getSimpleName());
    }
  }

  /** Where the gateway stood when a client gave up: for the failure message, never asserted on. */
  private final List<String> stalls = Collections.synchronizedList(new ArrayList<>());

  private final AtomicBoolean firstStall = new AtomicBoolean();

  private String snapshot() {
    long now = gateway.admissions().ticker().nanos();
    String state =
        gateway
            .admissions()
            .inspect(
                s -> {
                  StringBuilder b =
                      new StringBuilder("in flight " + gateway.inFlight())
                          .append(", queued ")
                          .append(s.queued())
                          .append(", reservations open ")
                          .append(s.outstanding());
                  for (String name : List.of("a", "b", "c")) {
                    s.deployment(name)
                        .ifPresent(
                            d ->
                                b.append("; ")
                                    .append(name)
                                    .append(": in flight ")
                                    .append(d.inFlight())
                                    .append(", window ")
                                    .append(d.windowRequests(now))
                                    .append(
                                        d.readyAtNanos(now) <= now
                                            ? ", ready"
                                            : ", ready in "
                                                + (d.readyAtNanos(now) - now) / 1_000_000
                                                + " ms")
                                    .append(", circuit ")
                                    .append(d.health().state(now)));
                  }
                  return b.toString();
                });
    return state + "\n" + penstockThreads();
  }

  /** The stacks of the threads (virtual ones included) that run Penstock's code. */
  private static String penstockThreads() {
    try {
      Path dump = Files.createTempDirectory("penstock-threads").resolve("threads.txt");
      java.lang.management.ManagementFactory.getPlatformMXBean(
              com.sun.management.HotSpotDiagnosticMXBean.class)
          .dumpThreads(
              dump.toString(),
              com.sun.management.HotSpotDiagnosticMXBean.ThreadDumpFormat.TEXT_PLAIN);
      StringBuilder out = new StringBuilder();
      for (String block : Files.readString(dump).split("\n\n", -1)) {
        if (block.contains("dev.penstock.server") && !block.contains("HotReloadAndShutdownTest")) {
          out.append(block).append("\n\n");
        }
      }
      return out.toString();
    } catch (java.io.IOException | RuntimeException e) {
      return "(no thread dump: " + e + ")";
    }
  }

  private Map<String, KeyStats> stats() {
    Map<String, KeyStats> byName = new java.util.HashMap<>();
    mock.stats().forEach(s -> byName.put(s.name(), s));
    return byName;
  }

  @Test
  void reloadsUnderLoadLoseNothingAndTheNewLimitsHoldFromTheReloadOn() throws Exception {
    mock =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(new LatencyModel(10, 0, 0))
                .outputTokens(4)
                .addKey(KeySpec.of("a", "sk-up-a-0001", 120, 10_000_000))
                .addKey(KeySpec.of("b", "sk-up-b-0001", 6000, 10_000_000))
                .addKey(KeySpec.of("c", "sk-up-c-0001", 6000, 10_000_000))
                .build());
    Path file = dir.resolve("penstock.yaml");
    Files.writeString(file, config(deployment("a", 120), deployment("b", 6000)));
    ConfigLoader loader = new ConfigLoader(Map.<String, String>of()::get);
    gateway = GatewayServer.start(loader.load(file));
    LinkedBlockingQueue<ConfigReloader.Outcome> outcomes = new LinkedBlockingQueue<>();
    ConfigReloader reloader = new ConfigReloader(file, loader, gateway.config(), gateway::reload);
    watcher = new ConfigWatcher(file, 50, () -> outcomes.add(reloader.reload("file change")));

    List<Sent> sent = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean running = new AtomicBoolean(true);
    Semaphore answered = new Semaphore(0);
    List<Future<?>> clients = new ArrayList<>();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < 8; i++) {
        clients.add(
            pool.submit(
                () -> {
                  while (running.get()) {
                    sent.add(send(CHAT));
                    answered.release();
                  }
                }));
      }
      awaitAnswers(answered, 300);

      // a's limit drops from 120 to 10 RPM, at the simulator too: from now on a sliding minute of
      // a may hold 10 requests, those sent before the reload included. b goes, c comes.
      http.send(
          HttpRequest.newBuilder(URI.create(mock.baseUrl().replace("/v1", "") + "/__keys/a"))
              .POST(HttpRequest.BodyPublishers.ofString("{\"rpm\": 10}"))
              .build(),
          HttpResponse.BodyHandlers.discarding());
      Files.writeString(file, config(deployment("a", 10), deployment("c", 6000)));
      ConfigReloader.Outcome applied = outcomes.poll(10, TimeUnit.SECONDS);
      long reloadedAt = System.nanoTime();
      assertThat(applied)
          .isEqualTo(
              new ConfigReloader.Outcome.Applied(
                  List.of(
                      "deployments added: c", "deployments removed: b", "deployments changed: a")));
      awaitAnswers(answered, 300);

      Files.writeString(file, "models: [this is not a configuration");
      assertThat(outcomes.poll(10, TimeUnit.SECONDS))
          .isInstanceOf(ConfigReloader.Outcome.Refused.class);
      awaitAnswers(answered, 300);
      running.set(false);
      for (Future<?> client : clients) {
        client.get(60, TimeUnit.SECONDS);
      }

      System.out.printf(
          "reloads under load: %d requests, %d failed (a reload applied, an invalid file refused)%n",
          sent.size(), sent.stream().filter(s -> s.status() != 200).count());
      assertThat(sent)
          .as(() -> "every request answered 200; at the first lost one: " + stalls)
          .allMatch(s -> s.status() == 200);
      // A request that started after the reload (plus a margin for those admitted just before)
      // never went to the removed deployment, and some went to the new one.
      List<Sent> after =
          sent.stream().filter(s -> s.startNanos() > reloadedAt + 100_000_000L).toList();
      assertThat(after).isNotEmpty().noneMatch(s -> s.deployment().equals("b"));
      assertThat(after).anyMatch(s -> s.deployment().equals("c"));
      Map<String, KeyStats> stats = stats();
      assertThat(stats.values())
          .as("the simulator never had to refuse: no limit was exceeded, before or after")
          .allMatch(k -> k.rateLimited() == 0);
      assertThat(stats.get("a").peakRequests60s())
          .as("a's busiest minute, under its old limit")
          .isBetween(1L, 120L);
    }
  }

  /** Waits until the clients got {@code count} more answers (each takes ~10 ms). */
  private static void awaitAnswers(Semaphore answered, int count) throws InterruptedException {
    assertThat(answered.tryAcquire(count, 60, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void shutdownUnderLoadFinishesWhatIsInFlightRefusesWhatIsNewAndLosesNothing() throws Exception {
    mock =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(new LatencyModel(300, 0, 0))
                .outputTokens(4)
                .addKey(KeySpec.of("a", "sk-up-a-0001", 60_000, 10_000_000))
                .build());
    Path file = dir.resolve("penstock.yaml");
    Files.writeString(file, config(deployment("a", 60_000)));
    gateway = GatewayServer.start(new ConfigLoader(Map.<String, String>of()::get).load(file));
    String base = gateway.baseUrl();
    List<Sent> sent = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean running = new AtomicBoolean(true);
    Semaphore answered = new Semaphore(0);
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<?>> clients = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        clients.add(
            pool.submit(
                () -> {
                  while (running.get()) {
                    sent.add(send(CHAT));
                    answered.release();
                  }
                }));
      }
      awaitAnswers(answered, 64);
      long drainStart = System.nanoTime();
      int inFlightAtShutdown = gateway.inFlight();
      CountDownLatch closed = new CountDownLatch(1);
      pool.execute(
          () -> {
            gateway.close();
            closed.countDown();
          });
      while (readiness(base) == 200) {
        Thread.onSpinWait(); // until the drain has begun: a few milliseconds
      }
      assertThat(readiness(base)).isIn(503, -1); // draining, or already stopped
      assertThat(closed.await(15, TimeUnit.SECONDS)).isTrue();
      running.set(false);
      for (Future<?> client : clients) {
        client.get(60, TimeUnit.SECONDS);
      }
      gateway = null; // closed

      // A request the client sent before the drain began either was in flight at the gateway (it
      // must be served) or was still on its way (it may be refused with a 503); it must never
      // break. And at least as many were served as the gateway held when the drain began.
      List<Sent> before = sent.stream().filter(s -> s.startNanos() < drainStart).toList();
      List<Sent> lost =
          before.stream().filter(s -> s.status() != 200 && s.status() != 503).toList();
      long servedBefore = before.stream().filter(s -> s.status() == 200).count();
      long refused = sent.stream().filter(s -> s.status() == 503).count();
      System.out.printf(
          "shutdown under load: %d requests started before it (%d in flight), %d lost; %d new"
              + " ones refused with 503 while draining%n",
          before.size(), inFlightAtShutdown, lost.size(), refused);
      assertThat(inFlightAtShutdown).as("requests in flight when the shutdown began").isPositive();
      assertThat(lost).as("requests that started before the shutdown and broke").isEmpty();
      assertThat(servedBefore).isGreaterThanOrEqualTo(inFlightAtShutdown);
      assertThat(refused).as("new requests refused while draining").isPositive();
      assertThat(sent)
          .as("after the drain: 503 shutting_down, or no connection once stopped")
          .allMatch(s -> s.status() == 200 || s.status() == 503 || s.status() == -1);
    }
  }

  private int readiness(String base) {
    try {
      return http.send(
              HttpRequest.newBuilder(URI.create(base.replace("/v1", "") + "/health/ready")).build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (Exception e) {
      return -1;
    }
  }
}
