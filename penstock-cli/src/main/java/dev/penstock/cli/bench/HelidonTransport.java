package dev.penstock.cli.bench;

import io.helidon.common.buffers.DataReader;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webclient.http1.Http1Client;
import io.helidon.webclient.http1.Http1ClientRequest;
import io.helidon.webclient.http1.Http1ClientResponse;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * {@link Transport} over Helidon's blocking HTTP/1.1 client: one client and one connection pool for
 * the run, each request on its caller's virtual thread with plain blocking socket I/O.
 *
 * <p>Chosen over the JDK {@code HttpClient} by measurement: bench pinned to one core, nginx on the
 * other, closed loop at 64 for 20 s, alternating runs: the JDK client (HTTP/1.1, blocking {@code
 * send} from virtual threads) made 3,600 to 4,300 requests/s, Helidon 11,500 to 15,800, both with
 * the core saturated and nginx at 15 % of its own. The JDK client routes every exchange through its
 * selector thread and a chain of completable futures; Helidon reads the socket on the calling
 * virtual thread.
 */
final class HelidonTransport implements Transport {
  private static final Duration MAX_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final int WARM_UP_TIMEOUT_MILLIS = 5_000;
  private static final HeaderName DEPLOYMENT = HeaderNames.create("x-penstock-deployment");
  private static final HeaderName QUEUE_MS = HeaderNames.create("x-penstock-queue-ms");

  private final Http1Client client;
  private boolean warmedUp; // only the run's calling thread warms up
  private final URI uri;
  private final List<io.helidon.http.Header> headers;

  HelidonTransport(BenchOptions options) {
    Duration timeout = options.timeout();
    this.uri = options.endpointUri();
    this.headers = headers(options);
    this.client =
        Http1Client.builder()
            .connectTimeout(min(timeout, MAX_CONNECT_TIMEOUT))
            // An idle-read timeout; the run's sweep enforces the whole-request timeout.
            .readTimeout(timeout)
            // Idle connections kept per host: one per request that can be outstanding, so that
            // no connection is closed and reopened while the load stays the same.
            .connectionCacheSize(maxOutstanding(options))
            .shareConnectionCache(false)
            // A 3xx is an outcome to count, and "Expect: 100-continue" would add a round trip.
            .followRedirects(false)
            .sendExpectContinue(false)
            .build();
  }

  private static List<io.helidon.http.Header> headers(BenchOptions options) {
    List<io.helidon.http.Header> defaults =
        List.of(
            HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"),
            HeaderValues.create(HeaderNames.AUTHORIZATION, "Bearer " + options.apiKey()),
            HeaderValues.create(HeaderNames.USER_AGENT, "penstock-bench/0.1"));
    // --header values come last, so that they replace a default of the same name.
    return Stream.concat(
            defaults.stream(),
            options.headers().stream().map(h -> HeaderValues.create(h.name(), h.value())))
        .toList();
  }

  private static int maxOutstanding(BenchOptions options) {
    return switch (options.load()) {
      case LoadMode.OpenLoop open -> options.maxInFlight();
      case LoadMode.ClosedLoop closed -> closed.concurrency();
    };
  }

  @Override
  public HttpReply send(byte[] body) throws IOException {
    Http1ClientResponse response = submitRetryingClosed(body);
    int status = response.status().code();
    String deployment = response.headers().first(DEPLOYMENT).orElse("");
    long queueMicros = HttpReply.queueMicros(response.headers().first(QUEUE_MS).orElse(""));
    if (status / 100 != 2) {
      drain(response);
      return new HttpReply(status, deployment, queueMicros, InputStream.nullInputStream());
    }
    return new HttpReply(status, deployment, queueMicros, new ResponseBody(response));
  }

  /**
   * Reads a (small) error body so the connection can go back to the pool. The status is the
   * outcome; a body that fails to arrive does not change it.
   */
  private static void drain(Http1ClientResponse response) {
    try (response) {
      response.inputStream().readAllBytes();
    } catch (IOException | UncheckedIOException e) {
      // The connection is not reused then; nothing else is lost.
    }
  }

  private Http1ClientResponse submitRetryingClosed(byte[] body) throws IOException {
    try {
      return submit(body, true);
    } catch (DataReader.InsufficientDataAvailableException e) {
      // The connection ended before a status line: nearly always a pooled keep-alive connection
      // that the server closed as idle just as it was reused (uvicorn does after 5 s, nginx when
      // short of connections). A server that closes without a byte of answer has not served the
      // request, so it is retried once, on a connection of its own; a second failure counts.
      try {
        return submit(body, false);
      } catch (DataReader.InsufficientDataAvailableException again) {
        throw new IOException("connection closed by the server before any answer", again);
      }
    }
  }

  private Http1ClientResponse submit(byte[] body, boolean keepAlive) throws IOException {
    Http1ClientRequest request = client.post().uri(uri).keepAlive(keepAlive);
    headers.forEach(request::header);
    try {
      return request.submit(body);
    } catch (UncheckedIOException e) {
      throw classify(e.getCause());
    }
  }

  /**
   * Sends one request to a throwaway server on a loopback port: Helidon's first exchange in a JVM
   * takes 250-350 ms of class loading and set-up, which would otherwise be the latency of the run's
   * first requests (and time out short {@code --timeout}s).
   */
  @Override
  public void warmUp() {
    // Once per transport: a second run on the same connections (after --warmup) is already warm.
    if (warmedUp) {
      return;
    }
    warmedUp = true;
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      server.setSoTimeout(WARM_UP_TIMEOUT_MILLIS);
      Thread answerer = Thread.ofVirtual().start(() -> answerOnce(server));
      URI warmUp = URI.create("http://127.0.0.1:" + server.getLocalPort() + "/warm-up");
      Http1ClientRequest request = client.post().uri(warmUp);
      headers.forEach(request::header);
      try (Http1ClientResponse response = request.submit(new byte[] {'{', '}'})) {
        response.inputStream().readAllBytes();
      }
      answerer.join(WARM_UP_TIMEOUT_MILLIS);
    } catch (IOException | RuntimeException e) {
      // Best effort: without it the first requests are merely slower.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Reads one request and answers it with a chunked body, the framing streams use. */
  private static void answerOnce(ServerSocket server) {
    try (Socket socket = server.accept()) {
      socket.setSoTimeout(WARM_UP_TIMEOUT_MILLIS);
      InputStream in = socket.getInputStream();
      String head = readHead(in);
      int length = head.indexOf("content-length:");
      if (length >= 0) {
        int end = head.indexOf('\r', length);
        in.readNBytes(Integer.parseInt(head.substring(length + 15, end).trim()));
      }
      socket
          .getOutputStream()
          .write(
              """
              HTTP/1.1 200 OK\r
              Content-Type: application/json\r
              Connection: close\r
              Transfer-Encoding: chunked\r
              \r
              2\r
              {}\r
              0\r
              \r
              """
                  .getBytes(StandardCharsets.US_ASCII));
    } catch (IOException | RuntimeException e) {
      // Best effort, as above.
    }
  }

  /** The request line and headers, lower-cased, up to the blank line. */
  private static String readHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0) {
      head.append((char) Character.toLowerCase(c));
      if (head.length() >= 4 && head.lastIndexOf("\r\n\r\n") == head.length() - 4) {
        break;
      }
    }
    return head.toString();
  }

  /**
   * Makes a connect timeout a {@link ConnectException}: {@link Transport} reserves {@link
   * SocketTimeoutException} for an answer that does not come, and both arrive from the same call.
   * The JDK names the connect case only in the message.
   */
  private static IOException classify(IOException cause) {
    if (cause instanceof SocketTimeoutException
        && String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT).contains("connect")) {
      ConnectException connect = new ConnectException(cause.getMessage());
      connect.initCause(cause);
      return connect;
    }
    return cause;
  }

  @Override
  public void close() {
    client.closeResource();
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  /** The body of a 2xx answer; closing it releases the connection to the pool. */
  private static final class ResponseBody extends FilterInputStream {
    private final Http1ClientResponse response;

    ResponseBody(Http1ClientResponse response) {
      super(response.inputStream());
      this.response = response;
    }

    @Override
    public void close() throws IOException {
      try {
        super.close();
      } finally {
        response.close();
      }
    }
  }
}
