package dev.penstock.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.penstock.core.CancelSignal;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link UpstreamClient} must do, whatever carries its calls: plain HTTP/1.1, TLS with a
 * CA of {@code upstream.ca_file}, a CONNECT proxy, HTTP/2. Each subclass names a client and a
 * transport; a case that cannot apply to it (a proxy case without a proxy, a resolver case for a
 * client that resolves on its own) is skipped with the reason.
 *
 * <p>Every wait is bounded; nothing sleeps to wait.
 */
abstract class UpstreamClientContract {
  static final String PROXY_USER = "penstock";
  static final String PROXY_PASSWORD = "pr0xy-s3cret-do-not-log";

  enum Transport {
    PLAIN,
    TLS,
    H2
  }

  /** How the test upstream speaks. */
  protected abstract Transport transport();

  /** Whether calls go through the test CONNECT proxy. */
  protected boolean viaProxy() {
    return false;
  }

  protected abstract UpstreamClient newClient(UpstreamOptions options);

  /** How many connections the client opened, where it counts them. */
  protected OptionalInt connectionsOpened(UpstreamClient client) {
    return OptionalInt.empty();
  }

  /** Whether the client connects through {@link UpstreamOptions#resolver()} (every address). */
  protected boolean usesResolver() {
    return false;
  }

  /**
   * How many tunnels (so connections) a client opens for calls that reuse one connection: 2 for the
   * pooled client to an h2 upstream, whose first handshake only learns the protocol.
   */
  protected int tunnelsForOneConnection() {
    return 1;
  }

  /** Whether a cancel aborts the wait for the answer's head (not only a read of its body). */
  protected boolean abortsWaitForHead() {
    return true;
  }

  protected TestUpstream upstream;
  protected @Nullable TunnelProxy proxy;
  protected UpstreamClient client;
  private final List<AutoCloseable> resources = new ArrayList<>();

  @BeforeEach
  void startUpstream() throws Exception {
    upstream = upstream(ip(127, 0, 0, 1));
    if (viaProxy()) {
      proxy = closeLater(new TunnelProxy(PROXY_USER, PROXY_PASSWORD));
    }
    client = closeLater(newClient(options(PROXY_PASSWORD)));
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable r : resources.reversed()) {
      r.close();
    }
  }

  protected <T extends AutoCloseable> T closeLater(T resource) {
    resources.add(resource);
    return resource;
  }

  /** A test upstream of this transport listening on {@code bind}. */
  protected TestUpstream upstream(InetAddress bind) throws IOException {
    TestUpstream u =
        switch (transport()) {
          case PLAIN -> RawUpstream.start(null, bind);
          case TLS -> RawUpstream.start(TestPki.get().serverContext(), bind);
          case H2 -> new Http2Upstream(TestPki.get().serverContext());
        };
    return closeLater(u);
  }

  /**
   * The options a deployment would have: {@code upstream.ca_file} naming the test CA (over TLS),
   * the test proxy with the given password (when proxied), no proxy environment.
   */
  protected UpstreamOptions options(String proxyPassword) throws IOException {
    Path ca = transport() == Transport.PLAIN ? null : TestPki.get().caPem();
    TunnelProxy p = proxy;
    String proxyUrl = p == null ? "none" : p.url(PROXY_USER, proxyPassword);
    return UpstreamOptions.of(ca, proxyUrl, "", true, name -> null);
  }

  static UpstreamCall call(URI uri, String body, Duration firstByte, Duration idle) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Authorization", "Bearer sk-contract-0001");
    headers.put("Content-Type", "application/json");
    headers.put("X-Contract", "intact, as sent");
    return new UpstreamCall(
        uri,
        headers,
        body.getBytes(StandardCharsets.UTF_8),
        Duration.ofSeconds(2),
        firstByte,
        idle);
  }

  UpstreamCall call(String path) {
    return call(upstream.uri(path), "{}", Duration.ofSeconds(10), Duration.ofSeconds(10));
  }

  static String readAll(UpstreamResponse response) throws IOException {
    try (response;
        InputStream in = response.body()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void thePostsBodyAndHeadersArriveIntact() throws Exception {
    String body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"content\":\"héllo ✓\"}]}";
    UpstreamResponse response =
        client.send(
            call(upstream.uri("/echo"), body, Duration.ofSeconds(10), Duration.ofSeconds(10)));
    assertThat(response.status()).isEqualTo(200);
    String echo = readAll(response);
    assertThat(echo)
        .contains("method=POST")
        .contains("path=/echo")
        .contains("authorization: Bearer sk-contract-0001")
        .contains("content-type: application/json")
        .contains("x-contract: intact, as sent")
        .endsWith("\n\n" + body);
    assertThat(echo)
        .as("the proxy's credentials never reach the upstream")
        .doesNotContainIgnoringCase("proxy-authorization");
  }

  @Test
  void aContentLengthAnswerIsReadWhole() throws Exception {
    UpstreamResponse response = client.send(call("/echo"));
    byte[] body;
    String length = response.header("Content-Length").orElseThrow();
    try (response;
        InputStream in = response.body()) {
      body = in.readAllBytes();
    }
    assertThat(body).hasSize(Integer.parseInt(length));
    assertThat(response.header("content-type")).hasValue("text/plain");
  }

  @Test
  void anEventStreamIsReadAsItArrives() throws Exception {
    UpstreamResponse response =
        client.send(call(upstream.uri("/sse"), "{}", Duration.ofSeconds(5), Duration.ofSeconds(5)));
    assertThat(response.header("content-type")).hasValue("text/event-stream");
    InputStream body = response.body();
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    byte[] buffer = new byte[256];
    while (!seen.toString(StandardCharsets.UTF_8).contains("data: one\n\n")) {
      int n = body.read(buffer);
      assertThat(n).as("the first event arrives before the upstream sends the rest").isPositive();
      seen.write(buffer, 0, n);
    }
    assertThat(seen.toString(StandardCharsets.UTF_8)).doesNotContain("two");
    upstream.releaseStreams();
    seen.writeBytes(body.readAllBytes());
    response.close();
    assertThat(seen.toString(StandardCharsets.UTF_8))
        .isEqualTo("data: one\n\ndata: two\n\ndata: [DONE]\n\n");
  }

  @Test
  void sequentialCallsReuseOneConnection() throws Exception {
    for (int i = 0; i < 5; i++) {
      assertThat(readAll(client.send(call("/echo")))).contains("path=/echo");
    }
    assertThat(upstream.requests()).isEqualTo(5);
    assertThat(upstream.connections()).as("connections the upstream saw").isEqualTo(1);
    OptionalInt opened = connectionsOpened(client);
    if (opened.isPresent()) {
      assertThat(opened.getAsInt()).as("connections the client opened").isEqualTo(1);
    }
    if (proxy != null) {
      assertThat(proxy.tunnels()).as("one tunnel, reused").isEqualTo(tunnelsForOneConnection());
    }
  }

  @Test
  void aRefusedConnectionIsUnreachable() throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1, ip(127, 0, 0, 1))) {
      port = probe.getLocalPort();
    }
    URI closed =
        URI.create(upstream.uri("/echo").toString().replace(":" + upstream.port(), ":" + port));
    assertThatThrownBy(
            () -> client.send(call(closed, "{}", Duration.ofSeconds(5), Duration.ofSeconds(5))))
        .isInstanceOf(UpstreamClient.UnreachableException.class);
  }

  @Test
  void anUnknownHostIsUnreachable() {
    String scheme = transport() == Transport.PLAIN ? "http" : "https";
    URI nowhere = URI.create(scheme + "://no-such-upstream.invalid:" + upstream.port() + "/echo");
    assertThatThrownBy(
            () -> client.send(call(nowhere, "{}", Duration.ofSeconds(5), Duration.ofSeconds(5))))
        .isInstanceOf(UpstreamClient.UnreachableException.class);
  }

  @Test
  void anUpstreamSilentBeforeItsAnswerTimesOut() {
    UpstreamCall call =
        call(upstream.uri("/hang"), "{}", Duration.ofMillis(400), Duration.ofMillis(400));
    assertThatThrownBy(() -> readAll(client.send(call)))
        .isInstanceOfSatisfying(
            UpstreamClient.TimeoutException.class,
            e -> assertThat(e.bodyStarted()).as("nothing of the body had come").isFalse());
  }

  @Test
  void aStreamThatFallsSilentTimesOut() throws Exception {
    UpstreamResponse response =
        client.send(
            call(upstream.uri("/stall"), "{}", Duration.ofMillis(500), Duration.ofMillis(500)));
    InputStream body = response.body();
    assertThat(body.read(new byte[64])).isPositive();
    assertThatThrownBy(() -> body.readAllBytes())
        .isInstanceOfSatisfying(
            UpstreamClient.TimeoutException.class, e -> assertThat(e.bodyStarted()).isTrue());
    response.close();
  }

  @Test
  void aCancelAbortsABlockedRead() throws Exception {
    CancelSignal cancel = new CancelSignal();
    UpstreamResponse response =
        client.send(
            call(upstream.uri("/stall"), "{}", Duration.ofSeconds(30), Duration.ofSeconds(30)),
            cancel);
    InputStream body = response.body();
    assertThat(body.read(new byte[64])).isPositive();
    CompletableFuture<Throwable> outcome = new CompletableFuture<>();
    Thread reader =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    body.readAllBytes();
                    outcome.complete(null);
                  } catch (Throwable t) {
                    outcome.complete(t);
                  }
                });
    // parked in a read (with a socket timeout, TIMED_WAITING)
    waitUntil(
        () ->
            reader.getState() == Thread.State.WAITING
                || reader.getState() == Thread.State.TIMED_WAITING
                || outcome.isDone());
    long start = System.nanoTime();
    Thread.ofVirtual().start(() -> cancel.cancel("client_closed")).join();
    assertThat(outcome.get(5, TimeUnit.SECONDS))
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(UpstreamClient.TimeoutException.class);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    response.close();
  }

  @Test
  void aCancelAbortsTheWaitForTheAnswer() throws Exception {
    assumeTrue(abortsWaitForHead(), "this client cannot abort the wait for an answer's head");
    CancelSignal cancel = new CancelSignal();
    CompletableFuture<Throwable> outcome = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                client
                    .send(
                        call(
                            upstream.uri("/hang"),
                            "{}",
                            Duration.ofSeconds(30),
                            Duration.ofSeconds(30)),
                        cancel)
                    .close();
                outcome.complete(null);
              } catch (Throwable t) {
                outcome.complete(t);
              }
            });
    waitUntil(() -> upstream.requests() == 1);
    cancel.cancel("client_closed");
    assertThat(outcome.get(5, TimeUnit.SECONDS))
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(UpstreamClient.TimeoutException.class);
  }

  @Test
  void anUntrustedCertificateIsRefusedAndTheCaFileTrustsIt() throws Exception {
    assumeTrue(transport() != Transport.PLAIN, "plain HTTP has no certificate");
    TunnelProxy p = proxy;
    UpstreamOptions jdkTrustOnly =
        UpstreamOptions.of(
            null, p == null ? "none" : p.url(PROXY_USER, PROXY_PASSWORD), "", true, name -> null);
    UpstreamClient untrusting = closeLater(newClient(jdkTrustOnly));
    assertThatThrownBy(() -> readAll(untrusting.send(call("/echo"))))
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(UpstreamClient.TimeoutException.class);
    // the same upstream with upstream.ca_file naming its CA (the client of every other case)
    assertThat(readAll(client.send(call("/echo")))).contains("path=/echo");
  }

  @Test
  void callsGoThroughTheProxysTunnelWithItsCredentials() throws Exception {
    assumeTrue(viaProxy(), "no proxy here");
    TunnelProxy p = java.util.Objects.requireNonNull(proxy);
    assertThat(readAll(client.send(call("/echo")))).contains("path=/echo");
    assertThat(p.tunnels()).isEqualTo(tunnelsForOneConnection());
    assertThat(p.targets())
        .hasSize(tunnelsForOneConnection())
        .allSatisfy(target -> assertThat(target).endsWith(":" + upstream.port()));
  }

  @Test
  void aProxyThatRefusesTheCredentialsIsAClearErrorWithoutThem() throws Exception {
    assumeTrue(viaProxy(), "no proxy here");
    TunnelProxy p = java.util.Objects.requireNonNull(proxy);
    String wrong = "wr0ng-pw-must-not-show";
    UpstreamClient refused = closeLater(newClient(options(wrong)));
    Throwable failure = null;
    try {
      readAll(refused.send(call("/echo")));
    } catch (IOException e) {
      failure = e;
    }
    assertThat(failure).isInstanceOf(UpstreamClient.UnreachableException.class);
    assertThat(failure.getMessage()).contains("407");
    for (Throwable t = failure; t != null; t = t.getCause()) {
      assertThat(String.valueOf(t.getMessage()) + t)
          .doesNotContain(wrong)
          .doesNotContain(PROXY_PASSWORD);
    }
    assertThat(p.refused()).isPositive();
    assertThat(upstream.requests()).isZero();
  }

  @Test
  void aDeadAddressGivesWayToALiveOne() throws Exception {
    assumeTrue(usesResolver(), "this client resolves host names itself");
    assumeTrue(!viaProxy(), "through a proxy, the proxy resolves the upstream");
    // the upstream listens on 127.0.0.1 only: 127.0.0.2 on its port refuses at once
    InetAddress dead = ip(127, 0, 0, 2);
    InetAddress live = ip(127, 0, 0, 1);
    UpstreamClient twoAddresses =
        closeLater(
            newClient(
                options(PROXY_PASSWORD).withResolver(host -> new InetAddress[] {dead, live})));
    URI uri = URI.create(upstream.uri("/echo").toString().replace("127.0.0.1", "upstream.test"));
    for (int i = 0; i < 4; i++) {
      // closed unread: each call opens a new connection, starting at the next address
      twoAddresses.send(call(uri, "{}", Duration.ofSeconds(5), Duration.ofSeconds(5))).close();
    }
    assertThat(upstream.requests()).isEqualTo(4);
  }

  @Test
  void newConnectionsTakeTheAddressesInTurn() throws Exception {
    assumeTrue(usesResolver(), "this client resolves host names itself");
    assumeTrue(!viaProxy(), "through a proxy, the proxy resolves the upstream");
    // on the wildcard address, the upstream answers on 127.0.0.1 and 127.0.0.2 alike
    TestUpstream everywhere = upstream(ip(0, 0, 0, 0));
    InetAddress one = ip(127, 0, 0, 1);
    InetAddress two = ip(127, 0, 0, 2);
    UpstreamClient twoAddresses =
        closeLater(
            newClient(options(PROXY_PASSWORD).withResolver(host -> new InetAddress[] {one, two})));
    URI uri = URI.create(everywhere.uri("/echo").toString().replace("127.0.0.1", "upstream.test"));
    for (int i = 0; i < 4; i++) {
      twoAddresses.send(call(uri, "{}", Duration.ofSeconds(5), Duration.ofSeconds(5))).close();
    }
    assertThat(everywhere.localAddresses()).containsExactly(one, two, one, two);
  }

  static InetAddress ip(int a, int b, int c, int d) throws java.net.UnknownHostException {
    return InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
  }

  /** Spins (no sleeping) until the condition holds, at most 5 s. */
  static void waitUntil(BooleanSupplier condition) {
    CompletableFuture.runAsync(
            () -> {
              while (!condition.getAsBoolean()) {
                Thread.onSpinWait();
              }
            })
        .orTimeout(5, TimeUnit.SECONDS)
        .join();
  }
}
