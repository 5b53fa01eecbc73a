package dev.penstock.server.upstream;

import dev.penstock.core.CancelSignal;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jspecify.annotations.Nullable;

/**
 * The upstream client on the JDK's {@link HttpClient}: HTTP/1.1 for {@code http://} upstreams (no
 * upgrade round trip), HTTP/2 where TLS negotiates it. The JDK client's connect timeout is a
 * client-wide setting, so there is one client per distinct connect timeout (usually one).
 *
 * <p>Kept for the overhead benchmark's comparison only; the gateway uses {@link PooledHttp1Client}.
 * It honours the contract in part: the first-byte timeout bounds the wait for the answer's head and
 * nothing bounds a stream's silence after it; a cancel aborts the exchange at any point.
 */
public final class JdkUpstreamClient implements UpstreamClient {
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final Map<Duration, HttpClient> clients = new ConcurrentHashMap<>();

  private HttpClient client(Duration connectTimeout) {
    return clients.computeIfAbsent(
        connectTimeout,
        timeout ->
            HttpClient.newBuilder()
                .connectTimeout(timeout)
                .executor(executor)
                .followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_2)
                .build());
  }

  @Override
  public UpstreamResponse send(UpstreamCall call, CancelSignal cancel)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(call.uri())
            .timeout(call.firstByteTimeout())
            .POST(HttpRequest.BodyPublishers.ofByteArray(call.body()));
    if ("http".equals(call.uri().getScheme())) {
      request.version(HttpClient.Version.HTTP_1_1);
    }
    call.headers().forEach(request::header);
    HttpResponse<InputStream> response;
    java.util.concurrent.CompletableFuture<HttpResponse<InputStream>> pending =
        client(call.connectTimeout())
            .sendAsync(request.build(), HttpResponse.BodyHandlers.ofInputStream());
    CancelSignal.Registration waiting = cancel.onCancel(() -> pending.cancel(true));
    try {
      response = pending.get();
    } catch (java.util.concurrent.CancellationException e) {
      throw new IOException("the call was cancelled: its client left", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw unwrap(call, e.getCause());
    } finally {
      waiting.close();
    }
    return new Response(response, cancel.onCancel(() -> closeQuietly(response)));
  }

  private static IOException unwrap(UpstreamCall call, @Nullable Throwable failure) {
    IOException e =
        failure instanceof IOException io ? io : new IOException("upstream call failed", failure);
    if (e instanceof java.net.http.HttpTimeoutException
        && !(e instanceof HttpConnectTimeoutException)) {
      return new TimeoutException(false);
    }
    if (e instanceof HttpConnectTimeoutException
        || e instanceof ConnectException
        || e instanceof UnknownHostException
        || e.getCause() instanceof UnresolvedAddressException
        || e.getCause() instanceof ConnectException) {
      return new UnreachableException("could not connect to " + call.uri().getHost(), e);
    }
    return e;
  }

  private static void closeQuietly(HttpResponse<InputStream> response) {
    try {
      response.body().close();
    } catch (IOException e) {
      // closing is best effort: the exchange is over either way
    }
  }

  private record Response(
      HttpResponse<InputStream> response, CancelSignal.Registration cancellation)
      implements UpstreamResponse {
    @Override
    public int status() {
      return response.statusCode();
    }

    @Override
    public Optional<String> header(String name) {
      return response.headers().firstValue(name);
    }

    @Override
    public InputStream body() {
      return response.body();
    }

    @Override
    public void close() {
      cancellation.close();
      closeQuietly(response);
    }
  }

  @Override
  public void close() {
    clients.values().forEach(HttpClient::close);
    executor.close();
  }
}
