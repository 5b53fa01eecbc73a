package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Runs bench for real, over loopback sockets, against {@link ScriptedServer}. Each run is capped by
 * {@code --requests}, so it ends as soon as the last answer arrives.
 */
class BenchRunEndToEndTest {
  private static final String CONTENT = "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}";
  private static final String USAGE =
      "{\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}";

  private ScriptedServer server;
  private BenchResult result;

  /** Every third request is rate limited; of the rest, half the streams are cut before [DONE]. */
  private static void streamScript(long number, HttpExchange exchange) throws IOException {
    exchange.getResponseHeaders().set("x-penstock-deployment", number % 2 == 0 ? "org-a" : "org-b");
    exchange.getResponseHeaders().set("x-penstock-queue-ms", "5");
    if (number % 3 == 2) {
      ScriptedServer.json(exchange, 429, "{\"error\":{\"message\":\"slow down\"}}");
    } else if (number % 3 == 1) {
      ScriptedServer.sse(exchange, CONTENT); // cut: no usage, no [DONE]
    } else {
      ScriptedServer.sse(exchange, CONTENT, USAGE, "[DONE]");
    }
  }

  private BenchResult run(BenchOptions.Builder options) throws InterruptedException {
    result =
        BenchRun.run(
            options.baseUrl(server.baseUrl()).duration(Duration.ofSeconds(30)).build(),
            ProgressListener.none());
    return result;
  }

  @Test
  void closedLoopStreamsCountEveryOutcomeAndTokens() throws Exception {
    server = new ScriptedServer(BenchRunEndToEndTest::streamScript);

    run(BenchOptions.builder().stream(true).concurrency(4).requestCap(12));

    // Requests 0..11: 429 for 2,5,8,11; cut streams for 1,4,7,10; complete for 0,3,6,9.
    assertThat(result.statusCounts())
        .containsExactly(Map.entry("2xx", 4L), Map.entry("429", 4L), Map.entry("stream_error", 4L));
    assertThat(result.inputTokens()).isEqualTo(4 * 7);
    assertThat(result.outputTokens()).isEqualTo(4 * 2);
    assertThat(result.latency().count()).isEqualTo(4);
    assertThat(result.ttft().count()).isEqualTo(4);
    assertThat(result.queue().count()).isEqualTo(12);
    assertThat(result.queue().p50Millis()).isCloseTo(5.0, within(0.01)); // 3 significant digits
    assertThat(result.deployments())
        .containsExactly(Map.entry("org-a", 6L), Map.entry("org-b", 6L));
  }

  @Test
  void openLoopJsonAnswersCountStatusesAndBadBodies() throws Exception {
    server =
        new ScriptedServer(
            (number, exchange) -> {
              if (number % 4 == 3) {
                ScriptedServer.json(exchange, 500, "{\"error\":{\"message\":\"boom\"}}");
              } else if (number % 5 == 4) {
                ScriptedServer.json(exchange, 200, "{\"id\":"); // malformed
              } else {
                ScriptedServer.json(
                    exchange,
                    200,
                    "{\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":5}}");
              }
            });

    run(BenchOptions.builder().rate(Rate.perSecond(200)).requestCap(10));

    // Requests 0..9: 500 for 3,7; malformed for 4,9; fine for the other 6.
    assertThat(result.statusCounts())
        .containsExactly(Map.entry("2xx", 6L), Map.entry("500", 2L), Map.entry("bad_body", 2L));
    assertThat(result.inputTokens()).isEqualTo(6 * 11);
    assertThat(result.outputTokens()).isEqualTo(6 * 5);
    assertThat(result.ttft().isEmpty()).isTrue();
  }

  @Test
  void aRequestWithoutAnswerTimesOutAndTheRunStillEnds() throws Exception {
    server =
        new ScriptedServer(
            (number, exchange) -> {
              if (number == 1) {
                server.hang();
              }
              ScriptedServer.json(exchange, 200, "{\"usage\":{\"prompt_tokens\":1}}");
            });

    // A second is ample for the two answered requests, even on a busy machine.
    run(BenchOptions.builder().concurrency(3).requestCap(3).timeout(Duration.ofSeconds(1)));

    assertThat(result.statusCounts())
        .containsExactly(Map.entry("2xx", 2L), Map.entry("timeout", 1L));
  }

  @Test
  void aConnectionClosedWithoutAnswerIsRetriedOnceThenCounted() throws Exception {
    Set<Long> closedOnce = ConcurrentHashMap.newKeySet();
    server =
        new ScriptedServer(
            (number, exchange) -> {
              // Request 0 is always refused an answer; request 1 only on its first attempt.
              if (number == 0 || (number == 1 && closedOnce.add(number))) {
                return; // closing the exchange without a response closes the connection
              }
              ScriptedServer.json(exchange, 200, "{\"usage\":{\"prompt_tokens\":1}}");
            });

    run(BenchOptions.builder().concurrency(1).requestCap(3));

    assertThat(result.statusCounts())
        .containsExactly(Map.entry("2xx", 2L), Map.entry("connection_error", 1L));
  }

  @Test
  void aClosedPortGivesConnectionErrors() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }

    result =
        BenchRun.run(
            BenchOptions.builder()
                .baseUrl(URI.create("http://127.0.0.1:" + port + "/v1"))
                .concurrency(2)
                .requestCap(4)
                .build(),
            ProgressListener.none());

    assertThat(result.statusCounts()).containsExactly(Map.entry("connection_error", 4L));
  }

  @Test
  void theCommandPrintsJsonAndWritesTheReport(@TempDir Path directory) throws Exception {
    server = new ScriptedServer(BenchRunEndToEndTest::streamScript);
    Path report = directory.resolve("report.html");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli =
        dev.penstock.cli.Main.commandLine()
            .setOut(new PrintWriter(out))
            .setErr(new PrintWriter(err));

    int exitCode =
        cli.execute(
            "bench",
            "--url=" + server.baseUrl(),
            "--stream",
            "--rate=100/s",
            "--requests=6",
            "--limit-rpm=3000",
            "--json",
            "--quiet",
            "--html=" + report);

    assertThat(exitCode).as(err.toString()).isZero();
    JsonNode json = new ObjectMapper().readTree(out.toString());
    assertThat(json.path("sent").asLong()).isEqualTo(6);
    assertThat(json.at("/status_counts/2xx").asLong()).isEqualTo(2);
    assertThat(json.at("/status_counts/429").asLong()).isEqualTo(2);
    assertThat(json.at("/status_counts/stream_error").asLong()).isEqualTo(2);
    assertThat(json.at("/ttft_ms/count").asLong()).isEqualTo(2);
    assertThat(Files.readString(report)).contains("<svg", "configured limit 3000 rpm");
    assertThat(err.toString()).isEmpty();
  }

  @Test
  void withoutATerminalTheCommandLeavesPlainProgressLinesAndNoCarriageReturns() throws Exception {
    server = new ScriptedServer(BenchRunEndToEndTest::streamScript);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli =
        dev.penstock.cli.Main.commandLine(ProgressStyle.LINES)
            .setOut(new PrintWriter(out))
            .setErr(new PrintWriter(err));

    int exitCode =
        cli.execute(
            "bench", "--url=" + server.baseUrl(), "--stream", "--rate=100/s", "--requests=6");

    assertThat(exitCode).as(err.toString()).isZero();
    // A run this short ends before the first five-second line: only the final line is left.
    assertThat(err.toString())
        .doesNotContain("\r")
        .startsWith("penstock bench: done ")
        .contains("  sent 6  ok 2  429 2  err 2  in flight 0  ")
        .hasLineCount(1);
    assertThat(out.toString()).contains("sent");
  }

  @AfterEach
  void everyRequestHasExactlyOneOutcome() {
    if (server != null) {
      server.close();
    }
    if (result != null) {
      long outcomes = result.statusCounts().values().stream().mapToLong(Long::longValue).sum();
      assertThat(outcomes).isEqualTo(result.sent() + result.dropped());
      assertThat(result.completed()).isEqualTo(result.sent());
    }
  }
}
