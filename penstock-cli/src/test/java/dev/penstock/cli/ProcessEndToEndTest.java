package dev.penstock.cli;

import static dev.penstock.cli.PenstockProcesses.EXIT;
import static dev.penstock.cli.PenstockProcesses.LINE;
import static dev.penstock.cli.PenstockProcesses.READY;
import static dev.penstock.cli.PenstockProcesses.REQUEST;
import static dev.penstock.cli.PenstockProcesses.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.errors.OpenAIException;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import dev.penstock.cli.PenstockProcesses.Child;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real processes on loopback, as a user runs them: {@code penstock mock} and {@code penstock serve
 * --config}, with the official OpenAI Java SDK as the client.
 */
@Tag("e2e")
class ProcessEndToEndTest {
  /*
   * Addresses and waits: see PenstockProcesses. The one address that must refuse connections is a
   * socket this JVM binds and never listens on: a connection to it is refused, and no other process
   * can bind that port while the test holds it.
   */
  private final PenstockProcesses processes = new PenstockProcesses();
  private final List<Closeable> held = new ArrayList<>();

  @TempDir Path dir;

  private Child start(String... args) throws IOException {
    return processes.start(args);
  }

  private String mock(String... args) throws Exception {
    return processes.mock(args);
  }

  private Child serve(String... args) throws Exception {
    return processes.serve(args);
  }

  /**
   * An address where nothing listens, for as long as the test runs: a socket bound to a port and
   * never listening, so that connecting is refused and no other process can bind the port.
   */
  private String deadBaseUrl() throws IOException {
    Socket unlistened = new Socket();
    held.add(unlistened);
    unlistened.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    return "http://127.0.0.1:" + unlistened.getLocalPort() + "/v1";
  }

  private static OpenAIClient sdk(String gatewayBaseUrl) {
    return OpenAIOkHttpClient.builder()
        .baseUrl(gatewayBaseUrl)
        .apiKey("sk-any")
        .maxRetries(0)
        .timeout(REQUEST)
        .build();
  }

  @AfterEach
  void stop() throws Exception {
    processes.stopAll();
    for (Closeable resource : held) {
      resource.close();
    }
  }

  @Test
  void theSdkTalksToPenstockServeInFrontOfPenstockMock() throws Exception {
    String mock =
        mock(
            "--port",
            "0",
            "--key",
            "sk-proc-a-00000001",
            "--key",
            "sk-proc-b-00000002",
            "--rpm",
            "120",
            "--ttft-ms",
            "30",
            "--ms-per-token",
            "100",
            "--jitter",
            "0");
    Path config = dir.resolve("penstock.yaml");
    Files.writeString(
        config,
        """
        listen: 127.0.0.1:0
        models:
          gpt-4o-mini:
            deployments:
              - {name: a, base_url: "%s", api_key: "${KEY_A:-sk-proc-a-00000001}", rpm: 120, tpm: 40000}
              - {name: b, base_url: "%s", api_key: sk-proc-b-00000002, rpm: 120, tpm: 40000}
          text-embedding-3-small:
            deployments:
              - {name: e, base_url: "%s", api_key: sk-proc-b-00000002, rpm: 120, tpm: 40000}
        """
            .formatted(mock, mock, mock));
    String gateway =
        serve("--config", config.toString()).awaitBaseUrl("penstock gateway at", READY);

    OpenAIClient sdk = sdk(gateway);
    try {
      ChatCompletionCreateParams chat =
          ChatCompletionCreateParams.builder()
              .model("gpt-4o-mini")
              .addUserMessage("Hi")
              .maxCompletionTokens(10)
              .build();
      assertThat(sdk.chat().completions().create(chat).choices().getFirst().message().content())
          .hasValue("The quick answer is that the pool of keys keeps");

      long start = System.nanoTime();
      List<Long> arrivals = new ArrayList<>();
      try (StreamResponse<ChatCompletionChunk> stream =
          sdk.chat().completions().createStreaming(chat)) {
        stream.stream().forEach(chunk -> arrivals.add(System.nanoTime() - start));
      }
      // Ten tokens 100 ms apart (900 ms from first to last): a relay that buffered would deliver
      // them all at once. A loaded machine delays the client and bunches arrivals, hence the
      // margin.
      assertThat(arrivals.getLast() - arrivals.getFirst())
          .as("spread of chunk arrivals")
          .isGreaterThan(300_000_000L);

      assertThat(
              sdk.embeddings()
                  .create(
                      EmbeddingCreateParams.builder()
                          .model("text-embedding-3-small")
                          .input("x")
                          .build())
                  .data())
          .hasSize(1);
      assertThat(sdk.models().list().data().stream().map(Model::id).collect(Collectors.toList()))
          .containsExactly("gpt-4o-mini", "text-embedding-3-small");
      assertThatThrownBy(
              () -> sdk.chat().completions().create(chat.toBuilder().model("gpt-9").build()))
          .isInstanceOf(NotFoundException.class);
    } finally {
      sdk.close();
    }

    try (HttpClient http = HttpClient.newHttpClient()) {
      String stats =
          http.send(
                  request(mock.replaceFirst("/v1$", "/__stats")).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      assertThat(stats)
          .contains("\"rate_limited\":0,\"rate_limited_requests\"")
          .doesNotContain("\"rate_limited\":1");
    }
    assertIdle(gateway);
  }

  @Test
  void serveWritesOneJsonLogLinePerRequestWithoutKeys() throws Exception {
    String mock =
        mock("--port", "0", "--key", "sk-proc-json-SECRET-0001", "--ttft-ms", "5", "--jitter", "0");
    Path config = dir.resolve("penstock.yaml");
    Files.writeString(
        config,
        """
        listen: 127.0.0.1:0
        logging: {format: plain}
        models:
          gpt-4o-mini:
            deployments:
              - {name: a, base_url: "%s", api_key: sk-proc-json-SECRET-0001, rpm: 600, tpm: 400000}
        """
            .formatted(mock));
    // The option overrides the file's plain.
    Child gateway = serve("--log-format", "json", "--config", config.toString());
    String gatewayUrl = gateway.awaitBaseUrl("penstock gateway at", READY);

    List<String> ids = new ArrayList<>();
    try (HttpClient http = HttpClient.newHttpClient()) {
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> answer =
            http.send(
                request(gatewayUrl + "/chat/completions")
                    .header("Content-Type", "application/json")
                    .POST(
                        HttpRequest.BodyPublishers.ofString(
                            i == 4
                                ? "{\"model\":\"gpt-4o-mini\"}"
                                : "{\"model\":\"gpt-4o-mini\",\"max_tokens\":5,"
                                    + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).isEqualTo(i == 4 ? 400 : 200);
        ids.add(answer.headers().firstValue("x-request-id").orElseThrow());
      }
    }
    ObjectMapper json = new ObjectMapper();
    for (String id : ids) {
      String line = gateway.awaitLine(id, LINE);
      assertThat(line).doesNotContain("SECRET");
      JsonNode entry = json.readTree(line); // a whole JSON object per line
      assertThat(entry.path("logger_name").asText()).isEqualTo("penstock.access");
      assertThat(entry.path("request_id").asText()).isEqualTo(id);
      assertThat(entry.path("total_ms").isNumber()).isTrue();
      if (entry.path("status").asInt() == 200) {
        assertThat(entry.path("deployment").asText()).isEqualTo("a");
        assertThat(entry.path("tokens_out").asLong()).isPositive();
        assertThat(entry.path("outcome").asText()).isEqualTo("ok");
      } else {
        assertThat(entry.path("outcome").asText()).isEqualTo("client_error");
        assertThat(entry.path("error").asText()).isNotEmpty();
      }
    }
  }

  @Test
  void underInjectedFaultsTheSdkIsServedThroughRealProcesses() throws Exception {
    Path mockConfig = dir.resolve("mock.yaml");
    Files.writeString(
        mockConfig,
        """
        port: 0
        seed: 11
        output_tokens: 8
        latency: {ttft_ms: 5, ms_per_token: 0, jitter: 0}
        defaults: {rpm: 1000000, tpm: 1000000000}
        keys:
          - {name: flaky, key: sk-proc-flaky-0001, faults: {"500": 0.15, "503": 0.15}}
          - {name: resetting, key: sk-proc-reset-0001, faults: {reset: 0.1}}
          - {name: healthy, key: sk-proc-healthy-0001}
        """);
    String upstream = mock("--config", mockConfig.toString());
    Path config = dir.resolve("penstock.yaml");
    Files.writeString(
        config,
        """
        listen: 127.0.0.1:0
        circuit_breaker: {consecutive_failures: 20}
        models:
          gpt-4o-mini:
            deployments:
              - {name: flaky, base_url: "%s", api_key: sk-proc-flaky-0001, rpm: 1000000, tpm: 1000000000}
              - {name: resetting, base_url: "%s", api_key: sk-proc-reset-0001, rpm: 1000000, tpm: 1000000000}
              - {name: healthy, base_url: "%s", api_key: sk-proc-healthy-0001, rpm: 1000000, tpm: 1000000000}
              - {name: dead, base_url: "%s", api_key: sk-proc-dead-0001, rpm: 1000000, tpm: 1000000000}
        """
            .formatted(upstream, upstream, upstream, deadBaseUrl()));
    String gateway =
        serve("--config", config.toString()).awaitBaseUrl("penstock gateway at", READY);

    OpenAIClient sdk = sdk(gateway);
    ChatCompletionCreateParams chat =
        ChatCompletionCreateParams.builder()
            .model("gpt-4o-mini")
            .addUserMessage("Hi")
            .maxCompletionTokens(10)
            .build();
    // 2,000 requests, 32 at a time, each under the SDK's REQUEST timeout: a bound for them all.
    long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    int ok = 0;
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      Semaphore slots = new Semaphore(32);
      List<Future<Boolean>> answers = new ArrayList<>();
      for (int i = 0; i < 2000; i++) {
        assertThat(slots.tryAcquire(remainingNanos(deadline), TimeUnit.NANOSECONDS))
            .as("a free slot for request %d before the deadline", i)
            .isTrue();
        answers.add(
            pool.submit(
                () -> {
                  try {
                    sdk.chat().completions().create(chat);
                    return true;
                  } catch (OpenAIException e) {
                    return false;
                  } finally {
                    slots.release();
                  }
                }));
      }
      for (Future<Boolean> answer : answers) {
        ok += answer.get(remainingNanos(deadline), TimeUnit.NANOSECONDS) ? 1 : 0;
      }
    } finally {
      sdk.close();
    }
    assertThat(ok).as("requests served of 2,000 (goal: 99.9%)").isGreaterThanOrEqualTo(1998);
    assertIdle(gateway);
  }

  /**
   * Waits (bounded) until the gateway's {@code /metrics} show no request in flight on any
   * deployment, and checks that no reservation leaked: the process-level form of the in-process
   * fixture's check.
   */
  private static void assertIdle(String gatewayBaseUrl) throws Exception {
    String metricsUrl = gatewayBaseUrl.replaceFirst("/v1$", "/metrics");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    List<String> busy;
    String leaked;
    try (HttpClient http = HttpClient.newHttpClient()) {
      while (true) {
        String text =
            http.send(request(metricsUrl).build(), HttpResponse.BodyHandlers.ofString()).body();
        busy =
            text.lines()
                .filter(l -> l.startsWith("penstock_deployment_in_flight{"))
                .filter(l -> !l.endsWith(" 0.0"))
                .toList();
        leaked =
            text.lines()
                .filter(l -> l.startsWith("penstock_reservations_leaked_total"))
                .findFirst()
                .orElse("penstock_reservations_leaked_total missing");
        if (busy.isEmpty() || System.nanoTime() > deadline) {
          break;
        }
        java.util.concurrent.locks.LockSupport.parkNanos(20_000_000);
      }
    }
    assertThat(busy).as("deployments with requests in flight after the test").isEmpty();
    assertThat(leaked).isEqualTo("penstock_reservations_leaked_total 0.0");
  }

  private static long remainingNanos(long deadlineNanos) {
    return Math.max(0, deadlineNanos - System.nanoTime());
  }

  @Test
  void sighupReloadsTheConfiguration() throws Exception {
    String mock = mock("--port", "0", "--key", "sk-proc-a-0001");
    Path config = dir.resolve("penstock.yaml");
    String deployment =
        "      - {name: %s, base_url: \"%s\", api_key: sk-proc-a-0001, rpm: 100, tpm: 100000}\n";
    // Port 0 in the reloaded file too: an unchanged listen address is not a change to apply.
    String head = "listen: 127.0.0.1:0\nmodels:\n  m:\n    deployments:\n";
    Files.writeString(config, head + deployment.formatted("one", mock));
    Child gateway = serve("--no-watch", "--config", config.toString());
    String gatewayUrl = gateway.awaitBaseUrl("penstock gateway at", READY);
    Files.writeString(
        config, head + deployment.formatted("one", mock) + deployment.formatted("two", mock));

    PenstockProcesses.signal(gateway, "HUP");
    assertThat(gateway.awaitLine("config reload (SIGHUP)", LINE))
        .contains("applied deployments added: two");
    try (HttpClient http = HttpClient.newHttpClient()) {
      String body =
          http.send(
                  request(gatewayUrl.replaceFirst("/v1$", "/admin/deployments")).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      assertThat(body).contains("\"name\":\"two\"").doesNotContain("sk-proc-a-0001");
    }
    assertThat(gateway.process.isAlive())
        .as("SIGHUP reloads, it does not stop the gateway")
        .isTrue();
  }

  @Test
  void checkNamesTheLineOfEachProblem() throws Exception {
    Path config = dir.resolve("bad.yaml");
    Files.writeString(
        config,
        "models:\n  m:\n    deployments:\n      - {name: a, base_url: x, api_key: k, rpm: 0, tpm: 1}\n");
    Child check = start("check", "--config", config.toString());

    String output = check.awaitExit(READY);

    assertThat(check.process.exitValue()).as(output).isEqualTo(1);
    assertThat(output)
        .contains("models.m.deployments[0].base_url (line 4)")
        .contains("models.m.deployments[0].rpm (line 4): must be a whole number from 1");
  }

  /** A gateway in front of a simulator whose streams take about {@code tokens} x 100 ms. */
  private Child drainingGateway(int graceMillis) throws Exception {
    String mock =
        mock(
            "--port",
            "0",
            "--key",
            "sk-drain-00000001",
            "--rpm",
            "6000",
            "--ttft-ms",
            "20",
            "--ms-per-token",
            "100",
            "--jitter",
            "0");
    Path config = dir.resolve("penstock.yaml");
    Files.writeString(
        config,
        """
        listen: 127.0.0.1:0
        defaults: {shutdown_grace_ms: %d}
        models:
          m:
            deployments:
              - {name: a, base_url: "%s", api_key: sk-drain-00000001, rpm: 6000, tpm: 10000000}
        """
            .formatted(graceMillis, mock));
    return serve("--no-watch", "--config", config.toString());
  }

  /** A stream of {@code tokens} tokens; counts the latch down at its first line, returns all. */
  private static Future<String> stream(
      ExecutorService threads,
      HttpClient http,
      String gatewayUrl,
      int tokens,
      java.util.concurrent.CountDownLatch started) {
    String body =
        "{\"model\":\"m\",\"stream\":true,\"max_tokens\":%d,\"messages\":[{\"role\":\"user\",\"content\":\"Go\"}]}"
            .formatted(tokens);
    return threads.submit(
        () -> {
          HttpResponse<java.util.stream.Stream<String>> response =
              http.send(
                  request(gatewayUrl + "/chat/completions")
                      .header("Content-Type", "application/json")
                      .POST(HttpRequest.BodyPublishers.ofString(body))
                      .build(),
                  HttpResponse.BodyHandlers.ofLines());
          StringBuilder all = new StringBuilder();
          response
              .body()
              .forEach(
                  line -> {
                    if (all.isEmpty()) {
                      started.countDown();
                    }
                    all.append(line).append('\n');
                  });
          return all.toString();
        });
  }

  private static void sigterm(Child child) throws Exception {
    PenstockProcesses.signal(child, "TERM");
  }

  /**
   * SIGTERM with streams in flight: every stream finishes, a new request meanwhile gets {@code 503
   * shutting_down} (not a refused connection), the drain says what it waits for, then the process
   * exits. Before, Helidon's own shutdown hook cut every request after 2 s and closed the port.
   */
  @Test
  void sigtermDrainsTheStreamsInFlightAndRefusesNewRequestsWith503() throws Exception {
    Child gateway = drainingGateway(30_000);
    String url = gateway.awaitBaseUrl("penstock gateway at", READY);
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(3);
    try (HttpClient http = HttpClient.newHttpClient();
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<String>> streams = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        streams.add(stream(threads, http, url, 40, started)); // about 4 s each
      }
      assertThat(started.await(READY.toSeconds(), TimeUnit.SECONDS)).as("streams began").isTrue();

      sigterm(gateway);
      assertThat(gateway.awaitLine("stopping: waiting up to 30000 ms for", LINE))
          .contains("3 requests in flight");
      HttpResponse<String> refused =
          http.send(
              request(url + "/chat/completions")
                  .header("Content-Type", "application/json")
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(refused.body()).contains("shutting_down");

      for (Future<String> stream : streams) {
        String all = stream.get(REQUEST.toSeconds(), TimeUnit.SECONDS);
        assertThat(all)
            .as("a whole stream")
            .endsWith("data: [DONE]\n\n")
            .doesNotContain("\"error\"");
      }
    }
    String output = gateway.awaitExit(EXIT);
    assertThat(output).doesNotContain("still in flight after");
  }

  /**
   * Streams still running when the grace period ends are not cut mid-byte: each ends with an SSE
   * error event the SDKs raise ({@code shutting_down}), then the process exits.
   */
  @Test
  void sigtermEndsStreamsStillRunningAfterTheGraceWithAnSseError() throws Exception {
    Child gateway = drainingGateway(1_000);
    String url = gateway.awaitBaseUrl("penstock gateway at", READY);
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(2);
    try (HttpClient http = HttpClient.newHttpClient();
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<String>> streams = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        streams.add(stream(threads, http, url, 200, started)); // about 20 s each
      }
      assertThat(started.await(READY.toSeconds(), TimeUnit.SECONDS)).as("streams began").isTrue();
      sigterm(gateway);
      for (Future<String> stream : streams) {
        String all = stream.get(REQUEST.toSeconds(), TimeUnit.SECONDS);
        assertThat(all).contains("\"code\":\"shutting_down\"").doesNotContain("[DONE]");
      }
    }
    assertThat(gateway.awaitExit(EXIT)).contains("still in flight after 1000 ms; ending them");
  }

  /** Under nohup SIGHUP is ignored and the JVM keeps it so: reload by SIGHUP is off, said so. */
  @Test
  void anIgnoredSighupIsSaidAtStart() throws Exception {
    Path config = dir.resolve("penstock.yaml");
    Files.writeString(
        config,
        """
        listen: 127.0.0.1:0
        models:
          m:
            deployments:
              - {name: a, base_url: "http://127.0.0.1:9/v1", api_key: k, rpm: 1, tpm: 1}
        """);
    List<String> command = new ArrayList<>();
    command.add("nohup");
    command.addAll(PenstockProcesses.javaCommand());
    command.addAll(List.of("serve", "--no-watch", "--config", config.toString()));
    Child child = processes.start(new ProcessBuilder(command));
    assertThat(child.awaitLine("SIGHUP", READY)).contains("SIGHUP is ignored");
  }

  /**
   * Connections up to the process's descriptor limit once ended Helidon's accept loop on EMFILE:
   * the port stayed closed for good while the process lived on. The gateway now serves at most a
   * number of connections that fits its descriptors; the rest wait in the backlog, and once they
   * are gone the gateway serves again.
   */
  @Test
  void manyMoreConnectionsThanDescriptorsLeaveTheListenerAlive() throws Exception {
    String mock = mock("--port", "0", "--key", "sk-fd-00000001", "--rpm", "6000");
    Path config = dir.resolve("penstock.yaml");
    Files.writeString(
        config,
        """
        listen: 127.0.0.1:0
        models:
          m:
            deployments:
              - {name: a, base_url: "%s", api_key: sk-fd-00000001, rpm: 6000, tpm: 10000000}
        """
            .formatted(mock));
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String launch =
        "ulimit -n 400 && exec '%s' --add-exports=java.base/sun.nio.ch=ALL-UNNAMED"
                .formatted(javaBin)
            + " --enable-native-access=ALL-UNNAMED -cp '%s' %s serve --no-watch --config '%s'"
                .formatted(System.getProperty("java.class.path"), Main.class.getName(), config);
    Child gateway = processes.start(new ProcessBuilder("bash", "-c", launch));
    String url = gateway.awaitBaseUrl("penstock gateway at", READY);
    URI address = URI.create(url);

    List<Socket> flood = new ArrayList<>();
    try {
      for (int i = 0; i < 600; i++) { // more than the gateway's 400 descriptors
        flood.add(new Socket(InetAddress.getLoopbackAddress(), address.getPort()));
      }
    } finally {
      for (Socket socket : flood) {
        socket.close();
      }
    }
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpResponse<String> answer =
          http.send(
              request(url + "/chat/completions")
                  .header("Content-Type", "application/json")
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    }
    assertThat(gateway.process.isAlive()).isTrue();
  }
}
