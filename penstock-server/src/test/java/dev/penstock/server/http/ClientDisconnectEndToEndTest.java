package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.core.health.CircuitBreaker;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.testing.GatewayFixture;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Clients that vanish, over real sockets: one that closes its connection mid-stream, one that stops
 * reading, one that gives up while its request waits in the queue, one whose stream was a circuit's
 * probe — and a thousand at once. Each must cost the pool nothing more than what was already sent:
 * the upstream call is closed, the reservation settled, the queue slot freed, and the fixture finds
 * every deployment idle at the end.
 */
class ClientDisconnectEndToEndTest {
  private static final String KEY = "sk-up-disconnect-0001";
  private GatewayFixture fixture;

  @AfterEach
  void stop() {
    if (fixture != null) {
      fixture.close(); // fails the test if any reservation, queue slot or in-flight count is left
    }
  }

  private static MockConfig.Builder simulator(LatencyModel latency, int outputTokens) {
    return MockConfig.builder()
        .port(0)
        .latency(latency)
        .outputTokens(outputTokens)
        .seed(5)
        .addKey(KeySpec.of("k", KEY, 1_000_000, 1_000_000_000));
  }

  private static String gateway(String deploymentExtra, String topLevelExtra) {
    return """
        listen: 127.0.0.1:0
        defaults: {pacing_guard_ms: 0}
        %s
        models:
          gpt-4o-mini:
            deployments:
              - name: only
                base_url: ${MOCK}
                api_key: %s
                rpm: 1000000
                tpm: 1000000000
        %s
        """
        .formatted(topLevelExtra, KEY, deploymentExtra.indent(8));
  }

  private static final String STREAM =
      "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"max_tokens\":40,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story\"}]}";

  /** Sends a request on a raw socket and returns the socket, its answer unread. */
  private Socket send(String body, Map<String, String> headers) throws IOException {
    Socket socket = new Socket(java.net.InetAddress.getLoopbackAddress(), fixture.gateway().port());
    socket.setSoTimeout(60_000); // a bound, not an expectation: the machine may be busy
    Map<String, String> all = new java.util.LinkedHashMap<>(headers);
    all.put("Content-Type", "application/json");
    socket
        .getOutputStream()
        .write(
            RawHttp.request(
                "POST", "/v1/chat/completions", all, body.getBytes(StandardCharsets.UTF_8)));
    socket.getOutputStream().flush();
    return socket;
  }

  /** Reads until the first SSE event's bytes arrived (bounded by the socket's timeout). */
  private static void readFirstEvent(Socket socket) throws IOException {
    assertThat(readFirstEventOrRefusal(socket)).as("the stream's status").isEqualTo(200);
  }

  /**
   * Reads until the first SSE event's bytes arrived, or the head of a refusal; returns the status.
   */
  private static int readFirstEventOrRefusal(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    StringBuilder seen = new StringBuilder();
    byte[] buffer = new byte[1024];
    while (!seen.toString().contains("data:")) {
      if (seen.length() >= 12 && !seen.toString().startsWith("HTTP/1.1 200")) {
        return Integer.parseInt(seen.substring(9, 12)); // a refusal (a 429 when the pool is full)
      }
      int n = in.read(buffer);
      if (n < 0) {
        throw new IOException("the gateway closed before the first event: " + seen);
      }
      seen.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
    }
    return 200;
  }

  /** Closes with a reset, as a process that dies does. */
  private static void vanish(Socket socket) throws IOException {
    socket.setSoLinger(true, 0);
    socket.close();
  }

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 10 s: " + what);
      }
      LockSupport.parkNanos(5_000_000);
    }
  }

  private int inFlight() {
    return fixture
        .gateway()
        .admissions()
        .inspect(s -> s.deployment("only").orElseThrow().inFlight());
  }

  private KeyStats stats() {
    return fixture.mock().stats().getFirst();
  }

  private HttpResponse<String> chat() throws Exception {
    return fixture.post(
        "/v1/chat/completions",
        "{\"model\":\"gpt-4o-mini\",\"max_tokens\":8,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
        Map.of("Content-Type", "application/json", "x-penstock-timeout-ms", "5000"));
  }

  /**
   * The probe: before, two aborted streams left a {@code max_concurrency: 2} deployment dead for
   * good (every later request 429), because the failed write escaped as an unchecked exception and
   * nothing settled the reservation.
   */
  @Test
  void streamsTheirClientsAbortFreeTheirConcurrencySlots() throws Exception {
    fixture =
        GatewayFixture.start(
            simulator(new LatencyModel(10, 50, 0), 40).build(), gateway("max_concurrency: 2", ""));
    for (int i = 0; i < 2; i++) {
      Socket client = send(STREAM, Map.of());
      readFirstEvent(client);
      vanish(client);
    }
    await("both aborted streams settled", () -> inFlight() == 0);
    HttpResponse<String> after = chat();
    assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
    assertThat(stats().requests()).isEqualTo(3);
  }

  /**
   * A client that stops reading but keeps its connection open: the gateway's write to it blocks
   * once the socket buffers are full. After {@code client_write_timeout_ms} the gateway takes it
   * for gone, closes it and the upstream call, and frees the slot.
   */
  @Test
  void aClientThatStopsReadingIsLetGoAfterTheWriteTimeout() throws Exception {
    fixture =
        GatewayFixture.start(
            simulator(LatencyModel.ZERO, 400_000).build(),
            gateway("max_concurrency: 1", "")
                .replace(
                    "defaults: {pacing_guard_ms: 0}",
                    "defaults: {pacing_guard_ms: 0, client_write_timeout_ms: 1000}"));
    Socket client = new Socket();
    client.setReceiveBufferSize(4096); // little for the kernel to absorb
    client.connect(
        new java.net.InetSocketAddress(
            java.net.InetAddress.getLoopbackAddress(), fixture.gateway().port()));
    byte[] body =
        STREAM
            .replace("\"max_tokens\":40", "\"max_tokens\":400000")
            .getBytes(StandardCharsets.UTF_8);
    client
        .getOutputStream()
        .write(
            RawHttp.request(
                "POST", "/v1/chat/completions", Map.of("Content-Type", "application/json"), body));
    // Never read: the stream (hundreds of megabytes) cannot fit the socket buffers.
    await("the stream started", () -> inFlight() == 1);
    await("the stalled client let go", () -> inFlight() == 0);
    HttpResponse<String> after = chat();
    assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
    client.close();
  }

  /**
   * Before, a client that gave up while its request waited was never withdrawn: the request was
   * sent upstream when its turn came, spending quota exactly when it was scarce.
   */
  @Test
  void aQueuedRequestWhoseClientLeavesIsWithdrawnAndNeverSent() throws Exception {
    fixture =
        GatewayFixture.start(
            simulator(LatencyModel.ZERO, 8).build(), gateway("", "").replace("1000000\n", "1\n"));
    assertThat(chat().statusCode()).isEqualTo(200); // the minute's one request
    Socket waiting =
        send(STREAM.replace("\"stream\":true,", ""), Map.of("x-penstock-timeout-ms", "120000"));
    await("the second request queued", () -> fixture.gateway().admissions().queued() == 1);
    vanish(waiting);
    await("the request withdrawn", () -> fixture.gateway().admissions().queued() == 0);
    assertThat(stats().requests()).as("nothing more reached the upstream").isEqualTo(1);
    long charged =
        fixture
            .gateway()
            .admissions()
            .inspect(s -> s.deployment("only").orElseThrow().windowRequests(Long.MAX_VALUE / 2));
    assertThat(charged).isLessThanOrEqualTo(1);
  }

  /**
   * Before, an aborted half-open probe left the circuit half-open for good: no other request could
   * start, and neither enable, drain nor a reload recovered it.
   */
  @Test
  void anAbortedProbeDoesNotLeaveTheCircuitStuckHalfOpen() throws Exception {
    fixture =
        GatewayFixture.start(
            simulator(new LatencyModel(10, 50, 0), 40).seed(9).build(),
            gateway(
                "",
                "retry: {attempts: 1}\ncircuit_breaker: {consecutive_failures: 1, open_ms: 200}"));
    setFaults("{\"500\": 1.0}");
    assertThat(chat().statusCode()).isEqualTo(500); // the failure that opens the circuit
    setFaults("{}");
    await("the circuit half-open", () -> circuit() == CircuitBreaker.State.HALF_OPEN);
    Socket probe = send(STREAM, Map.of());
    readFirstEvent(probe);
    vanish(probe);
    await("the probe settled", () -> inFlight() == 0);
    HttpResponse<String> next = chat();
    assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
    // The attempt is settled just after its answer's last byte, so the client may see the 200 a
    // moment before the circuit hears of it.
    await("the circuit closed by the next request", () -> circuit() == CircuitBreaker.State.CLOSED);
  }

  private CircuitBreaker.State circuit() {
    return fixture
        .gateway()
        .admissions()
        .inspect(
            s ->
                s.deployment("only")
                    .orElseThrow()
                    .health()
                    .state(fixture.gateway().admissions().ticker().nanos()));
  }

  private void setFaults(String faults) throws Exception {
    java.net.http.HttpRequest request =
        java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(fixture.mock().baseUrl().replace("/v1", "") + "/__keys/k"))
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"faults\": " + faults + "}"))
            .timeout(Duration.ofSeconds(10))
            .build();
    assertThat(fixture.http().send(request, HttpResponse.BodyHandlers.ofString()).statusCode())
        .isEqualTo(200);
  }

  /**
   * A thousand clients at once, over four deployments of limited concurrency: half leave right
   * after sending (most of them while queued), half after their stream's first event. Afterwards
   * every deployment is idle, nothing is queued, no reservation leaked, and every request the
   * upstream received is charged in its window exactly once (none leaked, none refunded wrongly).
   */
  @Test
  void aThousandClientsThatLeaveLeaveEveryDeploymentIdle() throws Exception {
    StringBuilder deployments = new StringBuilder();
    for (int i = 0; i < 4; i++) {
      deployments.append(
          """
              - {name: d%d, base_url: "${MOCK}", api_key: %s, rpm: 1000000, tpm: 1000000000,
                 max_concurrency: 25}
          """
              .formatted(i, KEY));
    }
    fixture =
        GatewayFixture.start(
            simulator(new LatencyModel(5, 20, 0), 40).build(),
            """
            listen: 127.0.0.1:0
            defaults: {pacing_guard_ms: 0}
            models:
              gpt-4o-mini:
                deployments:
            %s"""
                .formatted(deployments));
    List<Future<?>> clients = new ArrayList<>();
    try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < 1000; i++) {
        boolean readFirst = i % 2 == 1;
        clients.add(
            threads.submit(
                () -> {
                  Socket client = send(STREAM, Map.of("x-penstock-timeout-ms", "60000"));
                  if (readFirst) {
                    readFirstEvent(client); // queued, not refused, while the pool is full
                  }
                  vanish(client);
                  return null;
                }));
      }
      for (Future<?> client : clients) {
        client.get(60, TimeUnit.SECONDS);
      }
    }
    fixture.awaitIdle();
    long upstreamRequests = stats().requests();
    long charged =
        fixture
            .gateway()
            .admissions()
            .inspect(
                s -> {
                  long now = fixture.gateway().admissions().ticker().nanos();
                  long sum = 0;
                  for (int i = 0; i < 4; i++) {
                    sum += s.deployment("d" + i).orElseThrow().windowRequests(now);
                  }
                  return sum;
                });
    assertThat(upstreamRequests).as("some streams started before their clients left").isPositive();
    assertThat(charged)
        .as("requests charged in the deployments' windows")
        .isEqualTo(upstreamRequests);
  }
}
