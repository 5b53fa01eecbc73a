package dev.penstock.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.mock.FaultKind;
import dev.penstock.mock.FaultRates;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The pooled HTTP/1.1 client against the simulator and against scripted raw servers. */
class PooledHttp1ClientTest {
  private static final String KEY = "sk-client-test-0001";
  private static final byte[] CHAT =
      "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}"
          .getBytes(StandardCharsets.UTF_8);
  private static final byte[] CHAT_STREAM =
      "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4,\"stream\":true}"
          .getBytes(StandardCharsets.UTF_8);

  private final PooledHttp1Client client = new PooledHttp1Client(0);
  private MockServer mock;
  private ServerSocket raw;

  @AfterEach
  void stop() throws IOException {
    client.close();
    if (mock != null) {
      mock.close();
    }
    if (raw != null) {
      raw.close();
    }
  }

  private MockServer mock(FaultRates faults) {
    mock =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(LatencyModel.ZERO)
                .addKey(KeySpec.of("k", KEY, 100_000, 10_000_000).withFaults(faults))
                .build());
    return mock;
  }

  private static UpstreamCall call(String url, byte[] body, Duration readTimeout) {
    return call(url, body, readTimeout, readTimeout);
  }

  private static UpstreamCall call(String url, byte[] body, Duration firstByte, Duration idle) {
    return new UpstreamCall(
        URI.create(url),
        Map.of("Authorization", "Bearer " + KEY, "Content-Type", "application/json"),
        body,
        Duration.ofSeconds(2),
        firstByte,
        idle);
  }

  private static String readAll(UpstreamResponse response) throws IOException {
    try (response;
        InputStream in = response.body()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void keepsOneConnectionAliveAcrossRequests() throws Exception {
    mock(FaultRates.NONE);
    for (int i = 0; i < 5; i++) {
      UpstreamResponse response =
          client.send(call(mock.baseUrl() + "/chat/completions", CHAT, Duration.ofSeconds(5)));
      assertThat(response.status()).isEqualTo(200);
      assertThat(response.header("X-RATELIMIT-LIMIT-REQUESTS")).hasValue("100000");
      assertThat(readAll(response)).contains("\"chat.completion\"");
    }
    assertThat(client.connectionsOpened()).isEqualTo(1);
  }

  @Test
  void writesTheRequestHeadAndBodyAsHttp11HasThem() throws Exception {
    raw = new ServerSocket(0);
    CompletableFuture<byte[]> received =
        CompletableFuture.supplyAsync(
            () -> {
              try (Socket socket = raw.accept()) {
                InputStream in = socket.getInputStream();
                java.io.ByteArrayOutputStream seen = new java.io.ByteArrayOutputStream();
                byte[] buffer = new byte[4096];
                String text = "";
                // Until the head and the body it announces are in.
                while (!text.contains("\r\n\r\n")
                    || seen.size() < text.indexOf("\r\n\r\n") + 4 + CHAT.length) {
                  int n = in.read(buffer);
                  if (n < 0) {
                    break;
                  }
                  seen.write(buffer, 0, n);
                  text = seen.toString(StandardCharsets.ISO_8859_1);
                }
                socket
                    .getOutputStream()
                    .write(
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
                            .getBytes(StandardCharsets.ISO_8859_1));
                return seen.toByteArray();
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    UpstreamCall call =
        new UpstreamCall(
            URI.create("http://127.0.0.1:" + raw.getLocalPort() + "/v1/chat?api-version=2024-10"),
            new java.util.LinkedHashMap<>(
                Map.of("Authorization", "Bearer " + KEY, "X-Name", "caf\u00e9 \u20ac")),
            CHAT,
            Duration.ofSeconds(2),
            Duration.ofSeconds(5),
            Duration.ofSeconds(5));
    assertThat(readAll(client.send(call))).isEqualTo("{}");

    byte[] message = received.get(5, java.util.concurrent.TimeUnit.SECONDS);
    String text = new String(message, StandardCharsets.ISO_8859_1);
    String head = text.substring(0, text.indexOf("\r\n\r\n") + 4);
    assertThat(head)
        .startsWith("POST /v1/chat?api-version=2024-10 HTTP/1.1\r\nHost: 127.0.0.1:")
        .contains("\r\nAuthorization: Bearer " + KEY + "\r\n")
        // ISO-8859-1 as HTTP/1.1 has it: é stays one byte, € is not in it.
        .contains("\r\nX-Name: caf\u00e9 ?\r\n")
        .endsWith("\r\nContent-Length: " + CHAT.length + "\r\n\r\n");
    assertThat(java.util.Arrays.copyOfRange(message, head.length(), message.length))
        .isEqualTo(CHAT);
  }

  @Test
  void decodesAChunkedEventStream() throws Exception {
    mock(FaultRates.NONE);
    UpstreamResponse response =
        client.send(call(mock.baseUrl() + "/chat/completions", CHAT_STREAM, Duration.ofSeconds(5)));
    assertThat(response.header("content-type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
    String stream = readAll(response);
    assertThat(stream).startsWith("data: {").endsWith("data: [DONE]\n\n");
    // The connection went back to the pool after the last chunk.
    client.send(call(mock.baseUrl() + "/chat/completions", CHAT, Duration.ofSeconds(5))).close();
    assertThat(client.connectionsOpened()).isEqualTo(1);
  }

  @Test
  void aStreamCutShortFailsTheReadAndDropsTheConnection() throws Exception {
    mock(new FaultRates(Map.of(FaultKind.CUT, 1.0)));
    UpstreamResponse response =
        client.send(call(mock.baseUrl() + "/chat/completions", CHAT_STREAM, Duration.ofSeconds(5)));
    assertThatThrownBy(() -> readAll(response)).isInstanceOf(IOException.class);
    UpstreamResponse body =
        client.send(call(mock.baseUrl() + "/chat/completions", CHAT, Duration.ofSeconds(5)));
    assertThatThrownBy(() -> readAll(body))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("Content-Length");
    assertThat(client.connectionsOpened()).isEqualTo(2);
  }

  @Test
  void aConnectionThatDiesRightAfterUseIsNotSentAgain() throws Exception {
    PooledHttp1Client cautious = new PooledHttp1Client(60_000_000_000L);
    try {
      mock(FaultRates.NONE);
      readAll(
          cautious.send(call(mock.baseUrl() + "/chat/completions", CHAT, Duration.ofSeconds(5))));
      int port = mock.port();
      mock.close();
      mock =
          MockServer.start(
              MockConfig.builder()
                  .port(port)
                  .latency(LatencyModel.ZERO)
                  .addKey(KeySpec.of("k", KEY, 100_000, 10_000_000))
                  .build());
      // The pooled connection died with the old server. It was used moments ago, so the client
      // cannot tell "closed while idle" from "the upstream dropped the request": it fails rather
      // than risk sending the request twice.
      assertThatThrownBy(
              () ->
                  cautious.send(
                      call(mock.baseUrl() + "/chat/completions", CHAT, Duration.ofSeconds(5))))
          .isInstanceOf(IOException.class);
      assertThat(mock.stats().getFirst().requests()).isZero();
    } finally {
      cautious.close();
    }
  }

  @Test
  void aStaleIdleConnectionIsReplacedTransparently() throws Exception {
    // A server that answers one request per connection, then closes it while "keeping it alive".
    List<Integer> seenOnConnection =
        startRaw(
            request ->
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
            1);
    String url = "http://127.0.0.1:" + raw.getLocalPort() + "/v1/chat/completions";
    assertThat(readAll(client.send(call(url, CHAT, Duration.ofSeconds(5))))).isEqualTo("{}");
    waitUntil(() -> seenOnConnection.size() >= 1);
    assertThat(readAll(client.send(call(url, CHAT, Duration.ofSeconds(5))))).isEqualTo("{}");
    assertThat(client.connectionsOpened()).isEqualTo(2);
  }

  @Test
  void skipsInterimAnswersAndReadsBodiesThatEndWithTheConnection() throws Exception {
    startRaw(
        request ->
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
        1);
    String url = "http://127.0.0.1:" + raw.getLocalPort() + "/v1/embeddings";
    UpstreamResponse response = client.send(call(url, CHAT, Duration.ofSeconds(5)));
    assertThat(response.status()).isEqualTo(200);
    assertThat(readAll(response)).isEqualTo("until the end");
  }

  @Test
  void aSilentUpstreamTimesOutAfterTheReadTimeout() throws Exception {
    mock(new FaultRates(Map.of(FaultKind.HANG, 1.0)));
    assertThatThrownBy(
            () ->
                client.send(
                    call(mock.baseUrl() + "/chat/completions", CHAT, Duration.ofMillis(200))))
        .isInstanceOf(SocketTimeoutException.class);
  }

  /**
   * A reasoning model thinks for minutes before a non-streamed answer's first byte: the idle
   * timeout must not cut that wait, only the first-byte timeout may (the upstream here thinks 600
   * ms; the idle timeout is 200 ms).
   */
  @Test
  void aLongThinkIsBoundedByTheFirstByteTimeoutNotTheIdleOne() throws Exception {
    mock =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(new LatencyModel(600, 0, 0))
                .addKey(KeySpec.of("k", KEY, 100_000, 10_000_000))
                .build());
    String url = mock.baseUrl() + "/chat/completions";
    UpstreamResponse answer =
        client.send(call(url, CHAT, Duration.ofSeconds(10), Duration.ofMillis(200)));
    assertThat(readAll(answer)).contains("\"chat.completion\"");

    assertThatThrownBy(
            () -> client.send(call(url, CHAT, Duration.ofMillis(200), Duration.ofSeconds(10))))
        .isInstanceOfSatisfying(
            UpstreamClient.TimeoutException.class,
            e -> assertThat(e.bodyStarted()).as("nothing of the body had come").isFalse());
  }

  /** Once a stream began, silence is bounded by the idle timeout. */
  @Test
  void aStreamThatFallsSilentTimesOutAfterTheIdleTimeout() throws Exception {
    CompletableFuture<Void> never = new CompletableFuture<>();
    raw = new ServerSocket(0);
    ServerSocket server = raw;
    Thread.ofVirtual()
        .start(
            () -> {
              try (Socket socket = server.accept()) {
                socket.getInputStream().read(new byte[4096]);
                socket
                    .getOutputStream()
                    .write(
                        """
                        HTTP/1.1 200 OK\r
                        Content-Type: text/event-stream\r
                        Transfer-Encoding: chunked\r
                        \r
                        6\r
                        data: \r
                        """
                            .getBytes(StandardCharsets.ISO_8859_1));
                socket.getOutputStream().flush();
                never.join(); // holds the connection open, silent
              } catch (IOException e) {
                // the client gave up, as it should
              }
            });
    String url = "http://127.0.0.1:" + server.getLocalPort() + "/v1/chat/completions";
    UpstreamResponse response =
        client.send(call(url, CHAT_STREAM, Duration.ofSeconds(10), Duration.ofMillis(200)));
    InputStream body = response.body();
    assertThat(body.read(new byte[64])).isPositive();
    assertThatThrownBy(() -> body.read(new byte[64]))
        .isInstanceOfSatisfying(
            UpstreamClient.TimeoutException.class, e -> assertThat(e.bodyStarted()).isTrue());
    response.close();
    never.complete(null);
  }

  /**
   * A chunk's trailing CRLF arriving in a read of its own, right after the chunk's data filled the
   * last one: the line parser once indexed an empty line at -1 and threw, which escaped as
   * Penstock's own 500 and leaked the reservation (found by the leak detector).
   */
  @Test
  void aChunkTrailerInAReadOfItsOwnIsParsed() throws Exception {
    raw = new ServerSocket(0);
    ServerSocket server = raw;
    CompletableFuture<Void> dataRead = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try (Socket socket = server.accept()) {
                socket.getInputStream().read(new byte[4096]);
                OutputStream out = socket.getOutputStream();
                out.write(
                    ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                            + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello")
                        .getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                dataRead.get(10, java.util.concurrent.TimeUnit.SECONDS);
                out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
              } catch (Exception e) {
                // the test failed and closed the client
              }
            });
    String url = "http://127.0.0.1:" + server.getLocalPort() + "/v1/chat/completions";
    UpstreamResponse response = client.send(call(url, CHAT_STREAM, Duration.ofSeconds(10)));
    InputStream body = response.body();
    byte[] buffer = new byte[64];
    assertThat(new String(buffer, 0, body.read(buffer), StandardCharsets.ISO_8859_1))
        .isEqualTo("hello");
    dataRead.complete(null);
    assertThat(body.read(buffer)).as("the end of the chunked body").isEqualTo(-1);
    response.close();
  }

  /**
   * An upstream that sends its head a byte at a time: every byte used to reset the watchdog, so a
   * drip held a request past every timeout. Until the body begins, the first-byte timeout runs from
   * the send, whatever trickles in.
   */
  @Test
  void aHeadDrippedAByteAtATimeIsBoundedByTheFirstByteTimeout() throws Exception {
    raw = new ServerSocket(0);
    ServerSocket server = raw;
    Thread.ofVirtual()
        .start(
            () -> {
              try (Socket socket = server.accept()) {
                socket.getInputStream().read(new byte[4096]);
                OutputStream out = socket.getOutputStream();
                for (byte b :
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: "
                        .concat("x".repeat(200))
                        .getBytes(StandardCharsets.ISO_8859_1)) {
                  out.write(b); // the hostile upstream's pace: a byte every 20 ms
                  out.flush();
                  java.util.concurrent.locks.LockSupport.parkNanos(20_000_000);
                }
              } catch (IOException e) {
                // the client gave up, as it should
              }
            });
    String url = "http://127.0.0.1:" + server.getLocalPort() + "/v1/chat/completions";
    assertThatThrownBy(
            () -> client.send(call(url, CHAT, Duration.ofMillis(500), Duration.ofMillis(500))))
        .isInstanceOf(UpstreamClient.TimeoutException.class);
  }

  /** An upstream flooding {@code 100 Continue} once looped the reader without limit. */
  @Test
  void aFloodOfInterimAnswersIsAFailure() throws Exception {
    startRaw(request -> "HTTP/1.1 100 Continue\r\n\r\n".repeat(50), 1);
    String url = "http://127.0.0.1:" + raw.getLocalPort() + "/v1/chat/completions";
    assertThatThrownBy(() -> client.send(call(url, CHAT, Duration.ofSeconds(5))))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("interim");
  }

  /** A cancel (the client left) aborts the wait for the answer at once and closes the socket. */
  @Test
  void aCancelAbortsTheWaitForTheAnswerAndClosesTheConnection() throws Exception {
    raw = new ServerSocket(0);
    ServerSocket server = raw;
    CompletableFuture<Integer> serverSaw = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try (Socket socket = server.accept()) {
                InputStream in = socket.getInputStream();
                in.read(new byte[4096]); // the request; no answer ever
                serverSaw.complete(in.read()); // -1 when the client closes
              } catch (IOException e) {
                serverSaw.complete(-2);
              }
            });
    String url = "http://127.0.0.1:" + server.getLocalPort() + "/v1/chat/completions";
    dev.penstock.core.CancelSignal cancel = new dev.penstock.core.CancelSignal();
    CompletableFuture<Throwable> outcome = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                client.send(
                    call(url, CHAT, Duration.ofSeconds(60), Duration.ofSeconds(60)), cancel);
                outcome.complete(null);
              } catch (Throwable t) {
                outcome.complete(t);
              }
            });
    waitUntil(() -> client.connectionsOpened() == 1);
    cancel.cancel("client_closed");
    assertThat(outcome.get(5, java.util.concurrent.TimeUnit.SECONDS))
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(UpstreamClient.TimeoutException.class);
    assertThat(serverSaw.get(5, java.util.concurrent.TimeUnit.SECONDS))
        .as("the upstream sees the connection close")
        .isLessThan(0);
  }

  @Test
  void aClosedPortIsUnreachableNotAFailureAfterSending() throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    assertThatThrownBy(
            () ->
                client.send(
                    call(
                        "http://127.0.0.1:" + port + "/v1/chat/completions",
                        CHAT,
                        Duration.ofSeconds(1))))
        .isInstanceOf(UpstreamClient.UnreachableException.class);
  }

  /**
   * Starts a raw server: each connection gets {@code answers} answers from {@code script}, then is
   * closed. Returns the list of connections served (one entry per closed connection).
   */
  private List<Integer> startRaw(Function<String, String> script, int answers) throws IOException {
    raw = new ServerSocket(0);
    List<Integer> served = java.util.Collections.synchronizedList(new ArrayList<>());
    Thread.ofVirtual()
        .start(
            () -> {
              while (!raw.isClosed()) {
                try {
                  Socket socket = raw.accept();
                  Thread.ofVirtual().start(() -> serve(socket, script, answers, served));
                } catch (IOException e) {
                  return;
                }
              }
            });
    return served;
  }

  private static void serve(
      Socket socket, Function<String, String> script, int answers, List<Integer> served) {
    try (socket) {
      BufferedReader reader =
          new BufferedReader(
              new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
      OutputStream out = socket.getOutputStream();
      for (int i = 0; i < answers; i++) {
        String first = reader.readLine();
        int length = 0;
        for (String line = reader.readLine();
            line != null && !line.isEmpty();
            line = reader.readLine()) {
          if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
            length = Integer.parseInt(line.substring(15).trim());
          }
        }
        reader.skip(length);
        out.write(script.apply(first).getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
      }
    } catch (IOException e) {
      // the client went away
    } finally {
      served.add(1);
    }
  }

  /** Spins (no sleeping) until the condition holds; the scripted server closes asynchronously. */
  private static void waitUntil(java.util.function.BooleanSupplier condition) {
    CompletableFuture.runAsync(
            () -> {
              while (!condition.getAsBoolean()) {
                Thread.onSpinWait();
              }
            })
        .orTimeout(5, java.util.concurrent.TimeUnit.SECONDS)
        .join();
  }
}
