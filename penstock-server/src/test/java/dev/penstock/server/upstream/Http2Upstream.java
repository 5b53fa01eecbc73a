package dev.penstock.server.upstream;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/**
 * The contract's upstream over HTTP/2 with TLS: Helidon's web server, which offers {@code h2} (and
 * {@code http/1.1}) by ALPN once {@code helidon-webserver-http2} is on the class path.
 */
final class Http2Upstream extends TestUpstream {
  private final WebServer server;
  private final CountDownLatch closing = new CountDownLatch(1);

  Http2Upstream(SSLContext context) {
    server =
        WebServer.builder()
            .host("127.0.0.1")
            .port(0)
            .shutdownGracePeriod(Duration.ofMillis(100))
            .tls(t -> t.sslContext(context))
            .routing(this::routing)
            .build()
            .start();
  }

  private void routing(HttpRouting.Builder routing) {
    routing
        .post("/echo", this::echo)
        .post("/sse", (req, res) -> stream(req, res, release))
        .post("/stall", (req, res) -> stream(req, res, null))
        .post("/hang", this::hang);
  }

  private void seen(ServerRequest req) {
    arrived(
        req.remotePeer().address(),
        req.localPeer().address() instanceof InetSocketAddress local ? local.getAddress() : null);
  }

  private void echo(ServerRequest req, ServerResponse res) {
    byte[] body = req.content().as(byte[].class);
    seen(req);
    ByteArrayOutputStream echo = new ByteArrayOutputStream();
    echo.writeBytes(
        ("method=" + req.prologue().method().text() + "\npath=" + req.path().path() + "\n")
            .getBytes(StandardCharsets.UTF_8));
    for (Header h : req.headers()) {
      echo.writeBytes(
          (h.name().toLowerCase(Locale.ROOT) + ": " + h.get() + "\n")
              .getBytes(StandardCharsets.UTF_8));
    }
    echo.writeBytes("\n".getBytes(StandardCharsets.UTF_8));
    echo.writeBytes(body);
    res.header(HeaderNames.CONTENT_TYPE, "text/plain");
    res.send(echo.toByteArray());
  }

  private void stream(ServerRequest req, ServerResponse res, CountDownLatch rest)
      throws IOException, InterruptedException {
    req.content().as(byte[].class);
    seen(req);
    res.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
    try (OutputStream out = res.outputStream()) {
      out.write("data: one\n\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      if (rest == null) {
        closing.await(30, TimeUnit.SECONDS);
        return;
      }
      rest.await(30, TimeUnit.SECONDS);
      out.write("data: two\n\ndata: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
    }
  }

  private void hang(ServerRequest req, ServerResponse res) throws InterruptedException {
    req.content().as(byte[].class);
    seen(req);
    closing.await(30, TimeUnit.SECONDS);
    res.status(Status.SERVICE_UNAVAILABLE_503).send();
  }

  @Override
  URI uri(String path) {
    return URI.create("https://127.0.0.1:" + port() + path);
  }

  @Override
  int port() {
    return server.port();
  }

  @Override
  public void close() {
    closing.countDown();
    release.countDown();
    server.stop();
  }
}
