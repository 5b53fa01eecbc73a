package dev.penstock.server.upstream;

import dev.penstock.core.CancelSignal;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import org.jspecify.annotations.Nullable;

/**
 * The upstream client on the JDK's {@link HttpClient}: HTTP/1.1 for {@code http://} upstreams (no
 * upgrade round trip), HTTP/2 where TLS negotiates it (unless {@link UpstreamOptions#http2()} is
 * off). The JDK client's connect timeout is a client-wide setting, so there is one client per
 * distinct connect timeout (usually one).
 *
 * <p>Selectable for the overhead benchmark's comparison ({@code -Dpenstock.upstreamClient=jdk});
 * {@link PooledHttp1Client} also sends the calls of every route that negotiated {@code h2} through
 * one of these. The first-byte timeout bounds the wait for the answer's head (the JDK's request
 * timeout) and for the first byte of its body; after it, the idle timeout bounds every silence (a
 * watchdog thread, as in the pooled client). A cancel aborts the exchange at any point.
 *
 * <h2>Proxies</h2>
 *
 * <p>The proxy of {@link UpstreamOptions#proxies()} is given to the JDK client by a {@link
 * ProxySelector}; its credentials are sent preemptively as a {@code Proxy-Authorization} request
 * header, which the JDK client sends to the proxy only (on the {@code CONNECT} of a tunnel, or with
 * a request it forwards for an {@code http://} upstream) and never to the upstream. The JDK drops
 * that header from a {@code CONNECT} while its net property {@code
 * jdk.http.auth.tunneling.disabledSchemes} lists {@code Basic}, as it does by default, and reads
 * the property once, when {@code java.net.http} is first used: {@link
 * #allowBasicProxyCredentialsOnTunnels()} clears it when the operator did not set it, and the
 * gateway calls it before any client exists when a proxy has credentials. Were it too late, the
 * proxy answers 407 and the call fails as unreachable with that hint.
 */
public final class JdkUpstreamClient implements UpstreamClient {
  private static final long WATCHDOG_TICK_MILLIS = 50;

  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final Map<Duration, HttpClient> clients = new ConcurrentHashMap<>();
  private final UpstreamOptions options;
  private final Set<Response> busy = ConcurrentHashMap.newKeySet();
  private final Thread watchdog;
  private volatile boolean closed;

  public JdkUpstreamClient() {
    this(UpstreamOptions.defaults());
  }

  public JdkUpstreamClient(UpstreamOptions options) {
    this.options = options;
    if (options.proxies().hasCredentials()) {
      allowBasicProxyCredentialsOnTunnels();
    }
    this.watchdog =
        Thread.ofPlatform().name("penstock-jdk-upstream-watchdog").daemon().start(this::watch);
  }

  private static final String TUNNELING_DISABLED_SCHEMES =
      "jdk.http.auth.tunneling.disabledSchemes";

  /**
   * Lets the JDK's HTTP client send Basic proxy credentials on a tunnel's {@code CONNECT}
   * (Penstock's own client always does: the operator configured them for exactly that), unless the
   * operator set {@code -Djdk.http.auth.tunneling.disabledSchemes} themselves. Takes effect only
   * before the JVM's first use of {@code java.net.http}.
   */
  public static void allowBasicProxyCredentialsOnTunnels() {
    if (System.getProperty(TUNNELING_DISABLED_SCHEMES) == null) {
      System.setProperty(TUNNELING_DISABLED_SCHEMES, "");
    }
  }

  private HttpClient client(Duration connectTimeout) {
    return clients.computeIfAbsent(
        connectTimeout,
        timeout ->
            HttpClient.newBuilder()
                .connectTimeout(timeout)
                .executor(executor)
                .followRedirects(HttpClient.Redirect.NEVER)
                .sslContext(options.sslContext())
                .proxy(new Selector(options.proxies()))
                .version(options.http2() ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1)
                .build());
  }

  /** Aborts the bodies whose upstream stayed silent past their timeout. */
  private void watch() {
    while (!closed) {
      long now = System.nanoTime();
      busy.removeIf(
          r -> {
            long allowed = r.bodyStarted ? r.idleTimeoutNanos : r.firstByteTimeoutNanos;
            if (now - r.lastActivityNanos <= allowed) {
              return false;
            }
            r.timedOut = true;
            r.body.abort(new IOException("the upstream fell silent"));
            return true;
          });
      try {
        Thread.sleep(WATCHDOG_TICK_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  @Override
  public UpstreamResponse send(UpstreamCall call, CancelSignal cancel)
      throws IOException, InterruptedException {
    if (cancel.cancelled()) {
      throw new NotSentException("cancelled before the upstream was called", null);
    }
    HttpRequest.Builder request =
        HttpRequest.newBuilder(call.uri())
            .timeout(call.firstByteTimeout())
            .POST(HttpRequest.BodyPublishers.ofByteArray(call.body()));
    boolean tls = "https".equalsIgnoreCase(call.uri().getScheme());
    if (!tls) {
      request.version(HttpClient.Version.HTTP_1_1);
    }
    call.headers().forEach(request::header);
    UpstreamProxy proxy = options.proxies().select(tls, String.valueOf(call.uri().getHost()));
    if (proxy != null && proxy.authorization() != null) {
      request.header("Proxy-Authorization", proxy.authorization());
    }
    long sent = System.nanoTime();
    CompletableFuture<HttpResponse<Flow.Publisher<List<ByteBuffer>>>> pending =
        client(call.connectTimeout())
            .sendAsync(request.build(), HttpResponse.BodyHandlers.ofPublisher());
    HttpResponse<Flow.Publisher<List<ByteBuffer>>> response;
    CancelSignal.Registration waiting = cancel.onCancel(() -> pending.cancel(true));
    try {
      response = pending.get();
    } catch (InterruptedException e) {
      pending.cancel(true); // the exchange must not outlive its caller
      throw e;
    } catch (CancellationException e) {
      throw new IOException("the call was cancelled: its client left", e);
    } catch (ExecutionException e) {
      throw unwrap(call, proxy, e.getCause());
    } finally {
      waiting.close();
    }
    if (proxy != null && response.statusCode() == 407) {
      // the proxy's answer to CONNECT, handed back by the JDK (with no body)
      Flow.@Nullable Publisher<List<ByteBuffer>> publisher = response.body();
      if (publisher != null) {
        PublisherBody discarded = new PublisherBody();
        publisher.subscribe(discarded);
        discarded.close(); // cancels the subscription: the exchange is released
      }
      throw new UnreachableException(
          "the "
              + proxy
              + " refused the tunnel to "
              + call.uri().getHost()
              + ": 407 Proxy Authentication Required (check the proxy's credentials; the JDK"
              + " client sends Basic ones only while jdk.http.auth.tunneling.disabledSchemes does"
              + " not list Basic)",
          new IOException("CONNECT answered 407"));
    }
    PublisherBody body = new PublisherBody();
    response.body().subscribe(body);
    Response answer = new Response(response, body, call, sent);
    busy.add(answer);
    answer.cancellation = cancel.onCancel(answer::abort);
    return answer;
  }

  private static IOException unwrap(
      UpstreamCall call, @Nullable UpstreamProxy proxy, @Nullable Throwable failure) {
    IOException e =
        failure instanceof IOException io ? io : new IOException("upstream call failed", failure);
    if (e instanceof java.net.http.HttpTimeoutException
        && !(e instanceof HttpConnectTimeoutException)) {
      return new TimeoutException(false);
    }
    if (e instanceof HttpConnectTimeoutException
        || e instanceof ConnectException
        || e instanceof UnknownHostException
        || e instanceof javax.net.ssl.SSLHandshakeException
        || e.getCause() instanceof UnresolvedAddressException
        || e.getCause() instanceof ConnectException) {
      return new UnreachableException(
          "could not connect to "
              + call.uri().getHost()
              + (proxy == null ? "" : " through the " + proxy),
          e);
    }
    String message = String.valueOf(e.getMessage());
    if (proxy != null && message.startsWith("Tunnel failed, got: ")) {
      // the JDK's words for an answer to CONNECT other than 2xx (and 407): never reached
      return new UnreachableException(
          "the "
              + proxy
              + " refused the tunnel to "
              + call.uri().getHost()
              + ": "
              + message.substring("Tunnel failed, got: ".length()).trim(),
          e);
    }
    if (proxy != null && message.contains("407")) {
      // "No credentials provided" / "Proxy Authentication Required": the tunnel was refused
      return new UnreachableException(
          "the "
              + proxy
              + " refused the tunnel to "
              + call.uri().getHost()
              + ": 407 Proxy Authentication Required (check the proxy's credentials)",
          e);
    }
    return e;
  }

  /** Sends the configured proxy's way the upstreams that {@link ProxyRules} says go through it. */
  private static final class Selector extends ProxySelector {
    private final ProxyRules rules;

    Selector(ProxyRules rules) {
      this.rules = rules;
    }

    @Override
    public List<Proxy> select(URI uri) {
      boolean tls = "https".equalsIgnoreCase(uri.getScheme()) || "wss".equals(uri.getScheme());
      UpstreamProxy proxy = rules.select(tls, String.valueOf(uri.getHost()));
      if (proxy == null) {
        return List.of(Proxy.NO_PROXY);
      }
      return List.of(
          new Proxy(
              Proxy.Type.HTTP, InetSocketAddress.createUnresolved(proxy.host(), proxy.port())));
    }

    @Override
    public void connectFailed(URI uri, SocketAddress address, IOException e) {
      // one proxy, nothing to fall back to: the call fails as unreachable
    }
  }

  /**
   * The answer's body as a blocking stream over the JDK's publisher, one list of buffers at a time
   * (back-pressure: the next is requested when one was taken). Unlike the JDK's own {@code
   * ofInputStream}, a read blocked here can be aborted from another thread: by a cancel or by the
   * watchdog.
   */
  private static final class PublisherBody extends InputStream
      implements Flow.Subscriber<List<ByteBuffer>> {
    private static final Object END = new Object();
    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private volatile Flow.@Nullable Subscription subscription;
    private volatile boolean aborted;
    private @Nullable Iterator<ByteBuffer> buffers;
    private @Nullable ByteBuffer current;
    private boolean ended;
    private @Nullable IOException failure;

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      if (aborted) {
        s.cancel();
      } else {
        s.request(1);
      }
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
      queue.add(item);
    }

    @Override
    public void onError(Throwable t) {
      queue.add(t);
    }

    @Override
    public void onComplete() {
      queue.add(END);
    }

    /** Ends the body from any thread: a blocked read fails with {@code cause}. */
    void abort(IOException cause) {
      aborted = true;
      queue.add(cause);
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel();
      }
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] target, int offset, int length) throws IOException {
      if (length == 0) {
        return 0;
      }
      ByteBuffer buffer = next();
      if (buffer == null) {
        return -1;
      }
      int n = Math.min(length, buffer.remaining());
      buffer.get(target, offset, n);
      return n;
    }

    @Override
    public int available() {
      ByteBuffer c = current;
      return c == null ? 0 : c.remaining();
    }

    private @Nullable ByteBuffer next() throws IOException {
      while (true) {
        if (failure != null) {
          throw failure;
        }
        ByteBuffer c = current;
        if (c != null && c.hasRemaining()) {
          return c;
        }
        Iterator<ByteBuffer> it = buffers;
        if (it != null && it.hasNext()) {
          current = it.next();
          continue;
        }
        if (ended) {
          return null;
        }
        Object item;
        try {
          item = queue.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while reading the upstream's answer");
        }
        if (item == END) {
          ended = true;
        } else if (item instanceof IOException io) {
          failure = io;
        } else if (item instanceof Throwable t) {
          failure = new IOException("the upstream's answer broke off", t);
        } else {
          @SuppressWarnings("unchecked")
          List<ByteBuffer> list = (List<ByteBuffer>) item;
          buffers = list.iterator();
          Flow.Subscription s = subscription;
          if (s != null && !aborted) {
            s.request(1);
          }
        }
      }
    }

    @Override
    public void close() {
      if (!ended) {
        abort(new IOException("the answer was closed"));
      }
    }
  }

  private final class Response implements UpstreamResponse {
    final HttpResponse<?> response;
    final PublisherBody body;
    final long idleTimeoutNanos;
    final long firstByteTimeoutNanos;
    volatile long lastActivityNanos;
    volatile boolean bodyStarted;
    volatile boolean timedOut;
    volatile CancelSignal.@Nullable Registration cancellation;

    Response(HttpResponse<?> response, PublisherBody body, UpstreamCall call, long sentNanos) {
      this.response = response;
      this.body = body;
      this.idleTimeoutNanos = call.idleTimeout().toNanos();
      this.firstByteTimeoutNanos = call.firstByteTimeout().toNanos();
      this.lastActivityNanos = sentNanos; // the first-byte timeout runs from the send
    }

    void abort() {
      body.abort(new IOException("the call was cancelled: its client left"));
    }

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
      return new InputStream() {
        @Override
        public int read() throws IOException {
          byte[] one = new byte[1];
          return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] target, int offset, int length) throws IOException {
          int n;
          try {
            n = body.read(target, offset, length);
          } catch (IOException e) {
            busy.remove(Response.this);
            throw timedOut ? new TimeoutException(bodyStarted) : e;
          }
          if (n > 0) {
            lastActivityNanos = System.nanoTime();
            bodyStarted = true;
          } else if (n < 0) {
            busy.remove(Response.this);
          }
          return n;
        }

        @Override
        public int available() {
          return body.available();
        }

        @Override
        public void close() {
          Response.this.close();
        }
      };
    }

    @Override
    public void close() {
      busy.remove(this);
      CancelSignal.Registration r = cancellation;
      if (r != null) {
        cancellation = null;
        r.close();
      }
      body.close();
    }
  }

  @Override
  public void close() {
    closed = true;
    watchdog.interrupt();
    for (HttpClient client : clients.values()) {
      client.shutdownNow(); // exchanges still open are aborted: the gateway is stopping
      try {
        client.awaitTermination(Duration.ofSeconds(1));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    executor.shutdownNow();
  }
}
