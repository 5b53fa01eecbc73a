package dev.penstock.cli;

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
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
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
  private final List<Process> processes = new ArrayList<>();

  /** What each process printed after its ready line. */
  private final Map<Process, LinkedBlockingQueue<String>> laterLines = new ConcurrentHashMap<>();

  /** Waits for {@code process} to print a line containing {@code text}. */
  private String awaitLine(Process process, String text) throws InterruptedException {
    LinkedBlockingQueue<String> lines = laterLines.get(process);
    for (String line = lines.poll(30, TimeUnit.SECONDS);
        line != null;
        line = lines.poll(30, TimeUnit.SECONDS)) {
      if (line.contains(text)) {
        return line;
      }
    }
    throw new AssertionError("no line containing '" + text + "' within 30 s");
  }

  @TempDir Path dir;

  /** Starts {@code penstock ARGS} in its own JVM and waits for the line that says it is ready. */
  private Process penstock(String readyLine, String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    processes.add(process);
    BufferedReader output =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<String> ready =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                StringBuilder seen = new StringBuilder();
                for (String line = output.readLine(); line != null; line = output.readLine()) {
                  seen.append(line).append('\n');
                  if (line.contains(readyLine)) {
                    LinkedBlockingQueue<String> later = new LinkedBlockingQueue<>();
                    laterLines.put(process, later);
                    Thread.ofVirtual().start(() -> output.lines().forEach(later::add));
                    return line;
                  }
                }
                throw new IllegalStateException("exited before ready:\n" + seen);
              } catch (IOException e) {
                throw new IllegalStateException(e);
              }
            });
    ready.get(60, TimeUnit.SECONDS);
    return process;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @AfterEach
  void stop() throws Exception {
    for (Process process : processes) {
      process.destroy();
      process.waitFor(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void theSdkTalksToPenstockServeInFrontOfPenstockMock() throws Exception {
    int mockPort = freePort();
    int gatewayPort = freePort();
    penstock(
        "penstock mock:",
        "mock",
        "--port",
        Integer.toString(mockPort),
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
        listen: 127.0.0.1:%d
        models:
          gpt-4o-mini:
            deployments:
              - {name: a, base_url: "http://127.0.0.1:%d/v1", api_key: "${KEY_A:-sk-proc-a-00000001}", rpm: 120, tpm: 40000}
              - {name: b, base_url: "http://127.0.0.1:%d/v1", api_key: sk-proc-b-00000002, rpm: 120, tpm: 40000}
          text-embedding-3-small:
            deployments:
              - {name: e, base_url: "http://127.0.0.1:%d/v1", api_key: sk-proc-b-00000002, rpm: 120, tpm: 40000}
        """
            .formatted(gatewayPort, mockPort, mockPort, mockPort));
    penstock("penstock gateway at", "serve", "--config", config.toString());

    OpenAIClient sdk =
        OpenAIOkHttpClient.builder()
            .baseUrl("http://127.0.0.1:" + gatewayPort + "/v1")
            .apiKey("sk-any")
            .maxRetries(0)
            .build();
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
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + mockPort + "/__stats"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      assertThat(stats)
          .contains("\"rate_limited\":0,\"rate_limited_requests\"")
          .doesNotContain("\"rate_limited\":1");
    }
  }

  @Test
  void serveWritesOneJsonLogLinePerRequestWithoutKeys() throws Exception {
    int mockPort = freePort();
    int gatewayPort = freePort();
    penstock(
        "penstock mock:",
        "mock",
        "--port",
        Integer.toString(mockPort),
        "--key",
        "sk-proc-json-SECRET-0001",
        "--ttft-ms",
        "5",
        "--jitter",
        "0");
    Path config = dir.resolve("penstock.yaml");
    Files.writeString(
        config,
        """
        listen: 127.0.0.1:%d
        logging: {format: plain}
        models:
          gpt-4o-mini:
            deployments:
              - {name: a, base_url: "http://127.0.0.1:%d/v1", api_key: sk-proc-json-SECRET-0001, rpm: 600, tpm: 400000}
        """
            .formatted(gatewayPort, mockPort));
    // The option overrides the file's plain.
    Process gateway =
        penstock(
            "penstock gateway at", "serve", "--log-format", "json", "--config", config.toString());

    List<String> ids = new ArrayList<>();
    try (HttpClient http = HttpClient.newHttpClient()) {
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> answer =
            http.send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + gatewayPort + "/v1/chat/completions"))
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
      String line = awaitLine(gateway, id);
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
    int mockPort = freePort();
    int gatewayPort = freePort();
    int deadPort = freePort();
    Path mockConfig = dir.resolve("mock.yaml");
    Files.writeString(
        mockConfig,
        """
        port: %d
        seed: 11
        output_tokens: 8
        latency: {ttft_ms: 5, ms_per_token: 0, jitter: 0}
        defaults: {rpm: 1000000, tpm: 1000000000}
        keys:
          - {name: flaky, key: sk-proc-flaky-0001, faults: {"500": 0.15, "503": 0.15}}
          - {name: resetting, key: sk-proc-reset-0001, faults: {reset: 0.1}}
          - {name: healthy, key: sk-proc-healthy-0001}
        """
            .formatted(mockPort));
    penstock("penstock mock:", "mock", "--config", mockConfig.toString());
    Path config = dir.resolve("penstock.yaml");
    String upstream = "http://127.0.0.1:" + mockPort + "/v1";
    Files.writeString(
        config,
        """
        listen: 127.0.0.1:%d
        circuit_breaker: {consecutive_failures: 20}
        models:
          gpt-4o-mini:
            deployments:
              - {name: flaky, base_url: "%s", api_key: sk-proc-flaky-0001, rpm: 1000000, tpm: 1000000000}
              - {name: resetting, base_url: "%s", api_key: sk-proc-reset-0001, rpm: 1000000, tpm: 1000000000}
              - {name: healthy, base_url: "%s", api_key: sk-proc-healthy-0001, rpm: 1000000, tpm: 1000000000}
              - {name: dead, base_url: "http://127.0.0.1:%d/v1", api_key: sk-proc-dead-0001, rpm: 1000000, tpm: 1000000000}
        """
            .formatted(gatewayPort, upstream, upstream, upstream, deadPort));
    penstock("penstock gateway at", "serve", "--config", config.toString());

    OpenAIClient sdk =
        OpenAIOkHttpClient.builder()
            .baseUrl("http://127.0.0.1:" + gatewayPort + "/v1")
            .apiKey("sk-any")
            .maxRetries(0)
            .build();
    ChatCompletionCreateParams chat =
        ChatCompletionCreateParams.builder()
            .model("gpt-4o-mini")
            .addUserMessage("Hi")
            .maxCompletionTokens(10)
            .build();
    int ok = 0;
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      Semaphore slots = new Semaphore(32);
      List<Future<Boolean>> answers = new ArrayList<>();
      for (int i = 0; i < 2000; i++) {
        slots.acquire();
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
        ok += answer.get() ? 1 : 0;
      }
    } finally {
      sdk.close();
    }
    assertThat(ok).as("requests served of 2,000 (goal: 99.9%)").isGreaterThanOrEqualTo(1998);
  }

  @Test
  void sighupReloadsTheConfiguration() throws Exception {
    int mockPort = freePort();
    int gatewayPort = freePort();
    penstock(
        "penstock mock:", "mock", "--port", Integer.toString(mockPort), "--key", "sk-proc-a-0001");
    Path config = dir.resolve("penstock.yaml");
    String deployment =
        "      - {name: %s, base_url: \"http://127.0.0.1:%d/v1\", api_key: sk-proc-a-0001,"
            + " rpm: 100, tpm: 100000}\n";
    String head = "listen: 127.0.0.1:%d\nmodels:\n  m:\n    deployments:\n".formatted(gatewayPort);
    Files.writeString(config, head + deployment.formatted("one", mockPort));
    Process gateway =
        penstock("penstock gateway at", "serve", "--no-watch", "--config", config.toString());
    Files.writeString(
        config,
        head + deployment.formatted("one", mockPort) + deployment.formatted("two", mockPort));

    Process hup = new ProcessBuilder("kill", "-HUP", Long.toString(gateway.pid())).start();
    assertThat(hup.waitFor()).isZero();
    assertThat(awaitLine(gateway, "config reload (SIGHUP)"))
        .contains("applied deployments added: two");
    URI admin = URI.create("http://127.0.0.1:" + gatewayPort + "/admin/deployments");
    try (HttpClient http = HttpClient.newHttpClient()) {
      String body =
          http.send(HttpRequest.newBuilder(admin).build(), HttpResponse.BodyHandlers.ofString())
              .body();
      assertThat(body).contains("\"name\":\"two\"").doesNotContain("sk-proc-a-0001");
    }
    assertThat(gateway.isAlive()).as("SIGHUP reloads, it does not stop the gateway").isTrue();
  }

  @Test
  void checkNamesTheLineOfEachProblem() throws Exception {
    Path config = dir.resolve("bad.yaml");
    Files.writeString(
        config,
        "models:\n  m:\n    deployments:\n      - {name: a, base_url: x, api_key: k, rpm: 0, tpm: 1}\n");
    Process check =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "check",
                "--config",
                config.toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(check.waitFor()).isEqualTo(1);
    assertThat(output)
        .contains("models.m.deployments[0].base_url (line 4)")
        .contains("models.m.deployments[0].rpm (line 4): must be a whole number from 1");
  }
}
