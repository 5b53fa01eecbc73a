package dev.penstock.cli.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodySubscribers;
import java.time.Duration;
import java.util.List;

/**
 * {@link Transport} over the JDK {@link HttpClient}: HTTP/1.1, one client and its connection pool
 * shared by all requests, blocking {@code send} on the caller's virtual thread.
 *
 * <p>HTTP/1.1 rather than h2c: gateways and simulators are plain HTTP/1.1 servers, and one
 * connection per outstanding request is what a fleet of real clients looks like to them.
 */
final class JdkTransport implements Transport {
  private static final Duration MAX_CONNECT_TIMEOUT = Duration.ofSeconds(10);

  /** Reads 2xx bodies; discards the rest so the connection can be reused. */
  private static final BodyHandler<InputStream> BODY =
      info ->
          info.statusCode() / 100 == 2
              ? BodySubscribers.ofInputStream()
              : BodySubscribers.replacing(InputStream.nullInputStream());

  private final HttpClient client;
  private final HttpRequest.Builder template;

  /**
   * @throws IllegalArgumentException when a {@code --header} is one the client manages itself (such
   *     as {@code Host} or {@code Content-Length})
   */
  JdkTransport(BenchOptions options) {
    Duration timeout = options.timeout();
    this.client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(
                timeout.compareTo(MAX_CONNECT_TIMEOUT) < 0 ? timeout : MAX_CONNECT_TIMEOUT)
            .build();
    this.template =
        HttpRequest.newBuilder(options.endpointUri())
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("Authorization", "Bearer " + options.apiKey())
            .header("User-Agent", "penstock-bench/0.1");
    addHeaders(template, options.headers());
  }

  /**
   * Checks that the JDK client accepts these headers, before a run rather than at its start.
   *
   * @throws IllegalArgumentException naming a header the client manages itself
   */
  static void checkHeaders(List<Header> headers) {
    addHeaders(HttpRequest.newBuilder(), headers);
  }

  private static void addHeaders(HttpRequest.Builder builder, List<Header> headers) {
    for (Header header : headers) {
      try {
        builder.header(header.name(), header.value());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "--header '" + header.name() + "' cannot be set: the HTTP client manages it", e);
      }
    }
  }

  @Override
  public HttpReply send(byte[] body) throws IOException, InterruptedException {
    HttpRequest request =
        template.copy().POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    HttpResponse<InputStream> response = client.send(request, BODY);
    var headers = response.headers();
    return new HttpReply(
        response.statusCode(),
        headers.firstValue("x-penstock-deployment").orElse(""),
        HttpReply.queueMicros(headers.firstValue("x-penstock-queue-ms").orElse("")),
        response.body());
  }

  @Override
  public void close() {
    // shutdownNow: a stream that outlived its timeout must not keep the JVM busy after the run.
    client.shutdownNow();
  }
}
