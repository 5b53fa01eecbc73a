package dev.penstock.server.upstream;

import dev.penstock.core.CancelSignal;
import io.helidon.common.tls.Tls;
import io.helidon.http.HeaderNames;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.api.Proxy;
import io.helidon.webclient.http1.Http1Client;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The upstream client on Helidon's blocking {@link WebClient} (HTTP/1.1, built for virtual
 * threads). It measured faster than the JDK's client in the overhead benchmark; see {@code
 * docs/decisions/0001-upstream-http-client.md}. The connect timeout is a client-wide socket option,
 * so there is one client per distinct connect timeout (usually one).
 *
 * <p>Kept for the overhead benchmark's comparison only; the gateway uses {@link PooledHttp1Client}.
 * It honours the contract in part: one read timeout (the longer of the call's two) bounds every
 * read (reported as a {@link TimeoutException}: before the head arrived, {@code bodyStarted} false;
 * after, whether a byte of the body had come), and a cancel closes the answer once its head arrived
 * but cannot abort the wait for it. It takes the options' trust and proxies (Helidon's own {@code
 * CONNECT} tunnel, for http upstreams too); it speaks HTTP/1.1 only and resolves host names itself
 * (the options' resolver and several-address rules do not apply).
 */
public final class HelidonUpstreamClient implements UpstreamClient {
  private final Map<Duration, Http1Client> clients = new ConcurrentHashMap<>();
  private final UpstreamOptions options;
  private final Tls tls;
  private final Map<UpstreamProxy, Proxy> proxies = new ConcurrentHashMap<>();

  public HelidonUpstreamClient() {
    this(UpstreamOptions.defaults());
  }

  /**
   * A client with the options' trust and proxies. HTTP/2 is not offered (this client is Helidon's
   * HTTP/1.1 one) and the options' resolver is not used (Helidon resolves itself).
   */
  public HelidonUpstreamClient(UpstreamOptions options) {
    this.options = options;
    this.tls =
        Tls.builder()
            .sslContext(options.sslContext())
            .endpointIdentificationAlgorithm(Tls.ENDPOINT_IDENTIFICATION_HTTPS)
            .build();
  }

  /** The Helidon proxy of an upstream: CONNECT tunnels for http upstreams too, as the others. */
  private Proxy proxy(boolean secure, String host) {
    UpstreamProxy p = options.proxies().select(secure, host);
    if (p == null) {
      return Proxy.noProxy();
    }
    return proxies.computeIfAbsent(
        p,
        key -> {
          Proxy.Builder builder =
              Proxy.builder()
                  .type(Proxy.ProxyType.HTTP)
                  .host(key.host())
                  .port(key.port())
                  .forceHttpConnect(true);
          String user = key.username();
          String password = key.password();
          if (user != null) {
            builder.username(user);
            builder.password((password == null ? "" : password).toCharArray());
          }
          return builder.build();
        });
  }

  private Http1Client client(Duration connectTimeout) {
    return clients.computeIfAbsent(
        connectTimeout,
        timeout ->
            Http1Client.builder()
                .tls(tls)
                .socketOptions(s -> s.connectTimeout(timeout).tcpNoDelay(true))
                .followRedirects(false)
                .servicesDiscoverServices(false)
                .shareConnectionCache(false)
                .connectionCacheSize(8192)
                .build());
  }

  @Override
  public UpstreamResponse send(UpstreamCall call, CancelSignal cancel) throws IOException {
    HttpClientResponse response;
    try {
      response =
          client(call.connectTimeout())
              .post()
              .uri(call.uri())
              .proxy(
                  proxy(
                      "https".equalsIgnoreCase(call.uri().getScheme()),
                      String.valueOf(call.uri().getHost())))
              .readTimeout(
                  call.firstByteTimeout().compareTo(call.idleTimeout()) > 0
                      ? call.firstByteTimeout()
                      : call.idleTimeout())
              .headers(
                  h ->
                      call.headers()
                          .forEach((name, value) -> h.set(HeaderNames.create(name), value)))
              .submit(call.body());
    } catch (UncheckedIOException e) {
      // An UncheckedIOException always has a cause: its constructors require one.
      throw classify(call, Objects.requireNonNull(e.getCause()));
    } catch (RuntimeException e) {
      if (e.getCause() instanceof IOException io) {
        throw classify(call, io);
      }
      String message = String.valueOf(e.getMessage());
      if (message.startsWith("Failed to get address for host")) {
        throw new UnreachableException("could not resolve " + call.uri().getHost(), e);
      }
      if (message.startsWith("Proxy sent wrong HTTP response code")) {
        // Helidon's words for an answer to CONNECT other than 2xx; they hold no credentials
        throw new UnreachableException(
            "the proxy refused the tunnel to "
                + call.uri().getHost()
                + ": "
                + message.substring(message.indexOf(':') + 1).trim(),
            e);
      }
      throw new IOException(
          "upstream call to " + call.uri().getHost() + " failed: " + e.getMessage(), e);
    }
    return new Response(response, cancel.onCancel(response::close));
  }

  private static IOException classify(UpstreamCall call, IOException cause) {
    boolean neverConnected =
        cause instanceof ConnectException
            || cause instanceof UnknownHostException
            || cause instanceof NoRouteToHostException
            || (cause instanceof SocketTimeoutException
                && String.valueOf(cause.getMessage())
                    .toLowerCase(java.util.Locale.ROOT)
                    .contains("connect"));
    if (neverConnected) {
      return new UnreachableException("could not connect to " + call.uri().getHost(), cause);
    }
    if (cause instanceof SocketTimeoutException) {
      return new TimeoutException(false); // the answer's head did not come in time
    }
    return cause;
  }

  private record Response(HttpClientResponse response, CancelSignal.Registration cancellation)
      implements UpstreamResponse {
    @Override
    public int status() {
      return response.status().code();
    }

    @Override
    public Optional<String> header(String name) {
      return response.headers().first(HeaderNames.create(name));
    }

    @Override
    public InputStream body() {
      return new FailuresAsIoExceptions(response.inputStream(), response);
    }

    @Override
    public void close() {
      cancellation.close();
      response.close();
    }
  }

  /**
   * Helidon reports a body cut short (a chunked stream that ends mid-way) with unchecked
   * exceptions; callers of an {@link InputStream} expect {@link IOException}.
   */
  private static final class FailuresAsIoExceptions extends java.io.FilterInputStream {
    private final HttpClientResponse response;
    private boolean bodyStarted;

    FailuresAsIoExceptions(InputStream in, HttpClientResponse response) {
      super(in);
      this.response = response;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      try {
        int n = super.read(buffer, offset, length);
        bodyStarted |= n > 0;
        return n;
      } catch (UncheckedIOException e) {
        throw timeoutOr(Objects.requireNonNull(e.getCause()));
      } catch (RuntimeException e) {
        throw timeoutOr(new IOException("upstream body broke off", e));
      }
    }

    /** Helidon's read timeout, the only one it has, as the contract's timeout. */
    private IOException timeoutOr(IOException e) {
      if (e instanceof SocketTimeoutException || e.getCause() instanceof SocketTimeoutException) {
        response.close(); // the connection is not reused after a timeout
        return new TimeoutException(bodyStarted);
      }
      return e;
    }
  }

  @Override
  public void close() {
    clients.values().forEach(client -> client.closeResource());
  }
}
