package dev.penstock.server.upstream;

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

/**
 * The upstream client on the JDK's {@link HttpClient}: HTTP/1.1 for {@code http://} upstreams (no
 * upgrade round trip), HTTP/2 where TLS negotiates it. The JDK client's connect timeout is a
 * client-wide setting, so there is one client per distinct connect timeout (usually one).
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
  public UpstreamResponse send(UpstreamCall call) throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(call.uri())
            .timeout(call.readTimeout())
            .POST(HttpRequest.BodyPublishers.ofByteArray(call.body()));
    if ("http".equals(call.uri().getScheme())) {
      request.version(HttpClient.Version.HTTP_1_1);
    }
    call.headers().forEach(request::header);
    HttpResponse<InputStream> response;
    try {
      response =
          client(call.connectTimeout())
              .send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
    } catch (HttpConnectTimeoutException | ConnectException | UnknownHostException e) {
      throw new UnreachableException("could not connect to " + call.uri().getHost(), e);
    } catch (IOException e) {
      if (e.getCause() instanceof UnresolvedAddressException
          || e.getCause() instanceof ConnectException) {
        throw new UnreachableException("could not connect to " + call.uri().getHost(), e);
      }
      throw e;
    }
    return new Response(response);
  }

  private record Response(HttpResponse<InputStream> response) implements UpstreamResponse {
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
      try {
        response.body().close();
      } catch (IOException e) {
        // closing is best effort: the exchange is over either way
      }
    }
  }

  @Override
  public void close() {
    clients.values().forEach(HttpClient::close);
    executor.close();
  }
}
