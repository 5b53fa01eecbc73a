package dev.penstock.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
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
import java.util.concurrent.CompletableFuture;
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
                    Thread.ofVirtual().start(() -> output.lines().forEach(l -> {}));
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
        "50",
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
      // Ten tokens 50 ms apart: a relay that buffered would deliver them all at once.
      assertThat(arrivals.getLast() - arrivals.getFirst())
          .as("spread of chunk arrivals")
          .isGreaterThan(150_000_000L);

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
