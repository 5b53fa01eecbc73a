package dev.penstock.server.upstream;

import dev.penstock.core.CancelSignal;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.jspecify.annotations.Nullable;

/**
 * Penstock's own upstream client: HTTP/1.1 over blocking sockets on the calling virtual thread,
 * with a pool of kept-alive connections per upstream.
 *
 * <h2>Why not a library client</h2>
 *
 * <p>A gateway's upstream client does one thing — POST a body, stream the answer back — millions of
 * times, and its cost per call is the gateway's overhead. The overhead benchmark measured the JDK's
 * {@code HttpClient} and Helidon's WebClient as the dominant cost in the gateway: the first through
 * its asynchronous machinery, the second through per-read buffer allocation (16 KB per read), an
 * idle-connection watcher per pooled socket, and a FIFO pool that cycles through every idle
 * connection. See {@code docs/decisions/0001-upstream-http-client.md} for the numbers.
 *
 * <h2>Design</h2>
 *
 * <ul>
 *   <li>The request head and body leave in one write. Each connection owns one 8 KB read buffer for
 *       its whole life; the status line and headers are parsed in it.
 *   <li>Bodies are framed by {@code Content-Length}, {@code chunked}, or the end of the connection.
 *       The connection returns to its pool when the body has been read to its end; an answer closed
 *       early closes its connection.
 *   <li>The pool is LIFO: the most recently used connection is reused first, the others age out
 *       after {@link #IDLE_NANOS} (shorter than common server keep-alive timeouts).
 *   <li>A pooled connection may have been closed by the server while idle. When writing to a reused
 *       connection fails, or a reused connection that had been idle for a while ends before a
 *       single byte of the answer, the server closed it before the request arrived; the request is
 *       sent once more on a fresh connection. A connection used moments ago that ends without
 *       answering is not retried: the upstream may have received the request, and only the pipeline
 *       may decide to send it again (it owns the reservations).
 *   <li>Two timeouts bound the upstream's silence: until the first byte of the answer's body, the
 *       call's first-byte timeout (a non-streamed answer thinks that long, minutes for a reasoning
 *       model); after it, the idle timeout between reads. A watchdog thread enforces both by
 *       closing the socket, since a blocking read has no deadline of its own that a virtual thread
 *       could use cheaply. TCP keep-alive probes every upstream socket, so that a peer that
 *       vanished during a long first-byte wait is found within about a minute, not ten.
 *   <li>A cancelled call ({@link CancelSignal}: the client left) closes its socket at once, from
 *       the cancelling thread; the blocked read fails and the connection is not reused.
 *   <li>How upstreams are reached comes from {@link UpstreamOptions} (docs/upstreams.md): TLS
 *       trusts the JDK's CAs and those of {@code upstream.ca_file}; a route may tunnel through a
 *       proxy ({@code CONNECT}); a host's addresses are resolved when a connection is opened and
 *       taken in turn, the next tried when one fails. Each route decides its proxy once, in its
 *       pool, so that a request to a plain HTTP upstream costs what it did before.
 *   <li>HTTP/2 is not spoken here: a TLS route whose upstream selects {@code h2} by ALPN is
 *       remembered, and its calls are sent by a {@link JdkUpstreamClient} with the same options.
 * </ul>
 *
 * <p>Thread-safe. A connection belongs to one exchange at a time.
 */
public final class PooledHttp1Client implements UpstreamClient {
  static final long IDLE_NANOS = 30_000_000_000L;

  /** A reused connection idle at least this long that ends without answering was stale. */
  private static final long STALE_SUSPECT_NANOS = 1_000_000_000L;

  private final long staleSuspectNanos;

  /**
   * Idle connections kept per upstream. It must cover the concurrency one upstream sees: with 1,000
   * streams in flight and 512 kept, every answer past the 512th closed its connection and the next
   * request opened a new one — 13,000 TLS handshakes a minute ({@code scripts/upstream-tls.sh}).
   * Idle connections still close after {@link #IDLE_NANOS}.
   */
  private static final int MAX_IDLE_PER_ROUTE = 4096;

  private static final int BUFFER_SIZE = 8192;
  private static final int MAX_HEADER_BYTES = 64 * 1024;

  /** 1xx answers skipped before the real one; more is an upstream flooding {@code 100 Continue}. */
  private static final int MAX_INTERIM_ANSWERS = 10;

  private static final long WATCHDOG_TICK_MILLIS = 50;

  private final Map<Route, Idle> pools = new ConcurrentHashMap<>();
  private final AtomicInteger opened = new AtomicInteger();
  private final UpstreamOptions options;

  /** Sends the calls of the routes whose upstream selected {@code h2}; made on first need. */
  private volatile @Nullable JdkUpstreamClient http2;

  /** Connections in an exchange, for the read-timeout watchdog. */
  private final Set<Connection> busy = ConcurrentHashMap.newKeySet();

  private final Thread watchdog;
  private volatile boolean closed;

  /** The JDK's trust, no proxy, HTTP/2 where a TLS upstream offers it. */
  public PooledHttp1Client() {
    this(UpstreamOptions.defaults());
  }

  public PooledHttp1Client(UpstreamOptions options) {
    this(STALE_SUSPECT_NANOS, options);
  }

  /** For tests: how long a reused connection must have idled for a silent close to mean stale. */
  PooledHttp1Client(long staleSuspectNanos) {
    this(staleSuspectNanos, UpstreamOptions.defaults());
  }

  PooledHttp1Client(long staleSuspectNanos, UpstreamOptions options) {
    this.staleSuspectNanos = staleSuspectNanos;
    this.options = options;
    watchdog = Thread.ofPlatform().name("penstock-upstream-watchdog").daemon().start(this::watch);
  }

  /** Closes the sockets of exchanges whose upstream stayed silent past its timeout. */
  private void watch() {
    while (!closed) {
      long now = System.nanoTime();
      for (Connection c : busy) {
        long allowed = c.bodyStarted ? c.idleTimeoutNanos : c.firstByteTimeoutNanos;
        if (now - c.lastActivityNanos > allowed) {
          c.timedOut = true;
          c.close();
        }
      }
      try {
        Thread.sleep(WATCHDOG_TICK_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /**
   * One route's state: its idle connections, most recently used first (the count is kept apart
   * because {@link ConcurrentLinkedDeque#size()} walks the whole deque), and what was decided for
   * the route once — its proxy, its protocol, the next address to connect to — so that no request
   * decides it again.
   */
  private static final class Idle {
    final ConcurrentLinkedDeque<Connection> connections = new ConcurrentLinkedDeque<>();
    final AtomicInteger count = new AtomicInteger();

    /** The proxy connections tunnel through, or null for direct ones. */
    final @Nullable UpstreamProxy proxy;

    /** Round-robin over the addresses of the host (or of the proxy) for new connections. */
    final AtomicInteger nextAddress = new AtomicInteger();

    /** The upstream selected {@code h2} by ALPN: its calls go to the HTTP/2 client. */
    volatile boolean http2;

    /** Set when a TLS handshake of this route completed: {@code h2} or {@code http/1.1}. */
    volatile @Nullable String protocol;

    Idle(@Nullable UpstreamProxy proxy) {
      this.proxy = proxy;
    }

    Connection poll() {
      Connection c = connections.pollFirst();
      if (c != null) {
        count.decrementAndGet();
      }
      return c;
    }

    boolean offer(Connection c) {
      if (count.incrementAndGet() > MAX_IDLE_PER_ROUTE) {
        count.decrementAndGet();
        return false;
      }
      connections.offerFirst(c);
      return true;
    }
  }

  /**
   * Where connections go: scheme, host and port. The proxy is not part of the key: a client's proxy
   * rules are fixed, so the origin decides it, once, in the route's {@link Idle}.
   */
  private record Route(boolean tls, String host, int port) {
    static Route of(URI uri) {
      boolean tls = "https".equalsIgnoreCase(uri.getScheme());
      int port = uri.getPort() >= 0 ? uri.getPort() : tls ? 443 : 80;
      return new Route(tls, uri.getHost(), port);
    }

    String hostHeader() {
      return (tls && port == 443) || (!tls && port == 80) ? host : host + ":" + port;
    }

    /** {@code host:port} as a {@code CONNECT} names it (an IPv6 address in brackets). */
    String authority() {
      return (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host)
          + ":"
          + port;
    }
  }

  @Override
  public UpstreamResponse send(UpstreamCall call, CancelSignal cancel)
      throws IOException, InterruptedException {
    Route route = Route.of(call.uri());
    Idle pool = pools.get(route);
    if (pool == null) {
      pool = pools.computeIfAbsent(route, r -> new Idle(options.proxies().select(r.tls, r.host)));
    }
    if (pool.http2) {
      return http2().send(call, cancel);
    }
    byte[] request = encode(call, route);
    Connection reused = borrow(pool);
    if (reused != null) {
      try {
        return reused.exchange(request, call, staleSuspectNanos, cancel);
      } catch (StaleConnectionException stale) {
        // closed by the server while idle: the request never reached it; send it on a new one
      }
    }
    if (cancel.cancelled()) {
      throw new NotSentException("cancelled before the upstream was called", null);
    }
    Connection fresh = connect(route, call, pool);
    if (fresh == null) { // the upstream selected h2: this call and every later one go there
      return http2().send(call, cancel);
    }
    return fresh.exchange(request, call, -1, cancel);
  }

  private JdkUpstreamClient http2() {
    JdkUpstreamClient client = http2;
    if (client == null) {
      synchronized (this) {
        client = http2;
        if (client == null) {
          client = new JdkUpstreamClient(options);
          http2 = client;
        }
      }
    }
    return client;
  }

  /** How many connections were opened so far (for tests and benchmarks). */
  public int connectionsOpened() {
    return opened.get();
  }

  /**
   * The protocol TLS negotiated for an upstream's route ({@code h2} or {@code http/1.1}; {@code h2}
   * routes are sent by the JDK's HTTP/2 client), or empty before a TLS connection to it completed
   * and for plain HTTP (for tests and diagnostics).
   */
  public Optional<String> protocol(URI upstream) {
    Idle pool = pools.get(Route.of(upstream));
    return pool == null ? Optional.empty() : Optional.ofNullable(pool.protocol);
  }

  private static @Nullable Connection borrow(Idle pool) {
    long now = System.nanoTime();
    for (Connection c = pool.poll(); c != null; c = pool.poll()) {
      if (now - c.idleSince < IDLE_NANOS && !c.socket.isClosed()) {
        return c;
      }
      c.close();
    }
    return null;
  }

  /**
   * Opens a connection for the route: to one of the host's addresses (or the proxy's, then a {@code
   * CONNECT} tunnel), then TLS; all of it within the call's connect timeout. Null when TLS selected
   * {@code h2}: the route is marked, and the socket closed.
   */
  private @Nullable Connection connect(Route route, UpstreamCall call, Idle pool)
      throws IOException {
    long deadline = System.nanoTime() + call.connectTimeout().toNanos();
    UpstreamProxy proxy = pool.proxy;
    Socket socket =
        proxy == null
            ? dial(route.host(), route.port(), deadline, pool, "")
            : dial(proxy.host(), proxy.port(), deadline, pool, "the ");
    try {
      if (proxy != null) {
        tunnel(socket, proxy, route, deadline);
      }
      if (route.tls()) {
        SSLSocket tls = startTls(socket, route, deadline, proxy);
        socket = tls;
        String protocol = tls.getApplicationProtocol();
        boolean h2 = "h2".equals(protocol);
        pool.protocol = h2 ? "h2" : "http/1.1";
        if (h2) {
          pool.http2 = true;
          opened.incrementAndGet();
          socket.close(); // one handshake spent learning it; the JDK's HTTP/2 client takes over
          return null;
        }
      }
    } catch (IOException | RuntimeException e) {
      socket.close();
      throw e;
    }
    opened.incrementAndGet();
    return new Connection(socket, pool, busy);
  }

  /**
   * Connects to one of the host's addresses: new connections take them in turn (round-robin); an
   * address that refuses or does not answer in its share of the time left gives way to the next.
   * Only when every one failed is the upstream unreachable.
   */
  private Socket dial(String host, int port, long deadline, Idle pool, String article)
      throws IOException {
    String what = article.isEmpty() ? host + ":" + port : "the proxy " + host + ":" + port;
    InetAddress[] addresses;
    try {
      addresses = options.resolver().resolve(host);
    } catch (UnknownHostException e) {
      throw new UnreachableException("could not resolve " + (article.isEmpty() ? host : what), e);
    }
    if (addresses.length == 0) {
      UnknownHostException none = new UnknownHostException(host);
      throw new UnreachableException("could not resolve " + host, none);
    }
    int n = addresses.length;
    int first = Math.floorMod(pool.nextAddress.getAndIncrement(), n);
    IOException failure = null;
    for (int i = 0; i < n; i++) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      // each address left gets an equal share of the time left, so one that drops packets
      // cannot use up the whole timeout of the others
      int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, left / (n - i) / 1_000_000));
      Socket socket = new Socket();
      try {
        socket.setTcpNoDelay(true);
        keepAlive(socket);
        socket.connect(new InetSocketAddress(addresses[(first + i) % n], port), millis);
        return socket;
      } catch (SocketException | SocketTimeoutException e) {
        socket.close();
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      } catch (IOException | RuntimeException e) {
        socket.close();
        throw e;
      }
    }
    IOException cause = failure != null ? failure : new SocketTimeoutException("connect timed out");
    throw new UnreachableException(
        "could not connect to "
            + what
            + (n > 1 ? " (" + n + " addresses tried)" : "")
            + (failure == null ? ": connect timeout" : ""),
        cause);
  }

  private static int millisLeft(long deadline) throws SocketTimeoutException {
    long left = (deadline - System.nanoTime()) / 1_000_000;
    if (left <= 0) {
      throw new SocketTimeoutException("connect timeout");
    }
    return (int) Math.min(Integer.MAX_VALUE, left);
  }

  /**
   * Asks the proxy for a tunnel to the route's origin ({@code CONNECT host:port}), with the proxy's
   * credentials when it has some. Any answer but 2xx is an {@link UnreachableException}: the
   * upstream never saw the request. The answer's head is read a byte at a time, so that nothing of
   * what follows it (there is none before the client speaks) is consumed.
   */
  private static void tunnel(Socket socket, UpstreamProxy proxy, Route route, long deadline)
      throws IOException {
    String authority = route.authority();
    StringBuilder head =
        new StringBuilder(160)
            .append("CONNECT ")
            .append(authority)
            .append(" HTTP/1.1\r\nHost: ")
            .append(authority)
            .append("\r\n");
    String authorization = proxy.authorization();
    if (authorization != null) {
      head.append("Proxy-Authorization: ").append(authorization).append("\r\n");
    }
    head.append("\r\n");
    String statusLine;
    try {
      socket.setSoTimeout(millisLeft(deadline));
      OutputStream out = socket.getOutputStream();
      out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      statusLine = readConnectAnswer(socket.getInputStream());
      socket.setSoTimeout(0); // from here on the watchdog bounds reads
    } catch (SocketTimeoutException e) {
      throw new UnreachableException(
          "the " + proxy + " did not open a tunnel to " + authority + " within the connect timeout",
          e);
    } catch (IOException e) {
      throw new UnreachableException(
          "the " + proxy + " failed while opening a tunnel to " + authority, e);
    }
    int status = -1;
    if (statusLine.startsWith("HTTP/1.") && statusLine.length() >= 12) {
      try {
        status = Integer.parseInt(statusLine.substring(9, 12));
      } catch (NumberFormatException e) {
        status = -1;
      }
    }
    if (status < 200 || status > 299) {
      String answer = Connection.truncate(statusLine.replaceAll("[^\\x20-\\x7e]", "?"));
      throw new UnreachableException(
          "the "
              + proxy
              + " refused the tunnel to "
              + authority
              + ": "
              + answer
              + (status == 407
                  ? " (its credentials are "
                      + (authorization == null ? "missing" : "refused")
                      + ": check upstream.proxy or HTTPS_PROXY)"
                  : ""),
          new IOException("CONNECT answered " + status));
    }
  }

  /** The status line of the proxy's answer to {@code CONNECT}; its headers are skipped. */
  private static String readConnectAnswer(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    String statusLine = null;
    int total = 0;
    while (true) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("the proxy closed the connection before answering CONNECT");
      }
      if (++total > MAX_HEADER_BYTES) {
        throw new IOException("the proxy's answer to CONNECT is too long");
      }
      if (b == '\n') {
        int end = line.length() > 0 && line.charAt(line.length() - 1) == '\r' ? 1 : 0;
        String text = line.substring(0, line.length() - end);
        line.setLength(0);
        if (statusLine == null) {
          statusLine = text;
        } else if (text.isEmpty()) {
          return statusLine;
        }
      } else {
        line.append((char) b);
      }
    }
  }

  /**
   * TCP keep-alive after 30 s of silence, probing every 10 s, 3 probes: a peer that vanished (a
   * host gone, a NAT entry dropped) during a long first-byte wait fails the read in about a minute.
   * Where the platform lacks the fine-grained options, the system's defaults apply.
   */
  private static void keepAlive(Socket socket) throws IOException {
    socket.setKeepAlive(true);
    try {
      socket.setOption(jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE, 30);
      socket.setOption(jdk.net.ExtendedSocketOptions.TCP_KEEPINTERVAL, 10);
      socket.setOption(jdk.net.ExtendedSocketOptions.TCP_KEEPCOUNT, 3);
    } catch (UnsupportedOperationException e) {
      // keep-alive with the system's timing
    }
  }

  private static final String[] H1_ONLY = {"http/1.1"};
  private static final String[] H2_OR_H1 = {"h2", "http/1.1"};

  private SSLSocket startTls(
      Socket plain, Route route, long deadline, @Nullable UpstreamProxy proxy) throws IOException {
    SSLSocketFactory factory = options.sslContext().getSocketFactory();
    SSLSocket tls = (SSLSocket) factory.createSocket(plain, route.host(), route.port(), true);
    try {
      SSLParameters parameters = tls.getSSLParameters();
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      if (!isIpLiteral(route.host())) {
        parameters.setServerNames(List.of(new SNIHostName(route.host())));
      }
      parameters.setApplicationProtocols(options.http2() ? H2_OR_H1 : H1_ONLY);
      tls.setSSLParameters(parameters);
      tls.setSoTimeout(millisLeft(deadline));
      tls.startHandshake();
      tls.setSoTimeout(0); // from here on the watchdog bounds reads
      return tls;
    } catch (IOException e) {
      tls.close();
      throw new UnreachableException(
          "TLS handshake with "
              + route.host()
              + (proxy == null ? "" : " (through the " + proxy + ")")
              + " failed: "
              + e.getMessage(),
          e);
    }
  }

  /** An IPv4 or IPv6 address literal: SNI carries host names only. */
  private static boolean isIpLiteral(String host) {
    if (host.indexOf(':') >= 0) {
      return true;
    }
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if ((c < '0' || c > '9') && c != '.') {
        return false;
      }
    }
    return true;
  }

  /**
   * The request's head and body as one message (one write), its head in ISO-8859-1 as HTTP/1.1 has
   * it ({@code ?} for a character outside it). Written straight into an array of the exact size:
   * the head used to be copied four times on its way (builder, string, bytes, message).
   */
  private static byte[] encode(UpstreamCall call, Route route) {
    URI uri = call.uri();
    String path = uri.getRawPath();
    String query = uri.getRawQuery();
    byte[] body = call.body();
    String length = Integer.toString(body.length);
    int head = "POST ".length() + Math.max(1, path.length()) + " HTTP/1.1\r\n".length();
    if (query != null) {
      head += 1 + query.length();
    }
    head += "Host: ".length() + route.hostHeader().length() + 2;
    for (Map.Entry<String, String> h : call.headers().entrySet()) {
      head += h.getKey().length() + 2 + h.getValue().length() + 2;
    }
    head += "Content-Length: ".length() + length.length() + 4;
    byte[] message = new byte[head + body.length];
    int at = put(message, 0, "POST ");
    at = put(message, at, path.isEmpty() ? "/" : path);
    if (query != null) {
      at = put(message, at, "?");
      at = put(message, at, query);
    }
    at = put(message, at, " HTTP/1.1\r\nHost: ");
    at = put(message, at, route.hostHeader());
    at = put(message, at, "\r\n");
    for (Map.Entry<String, String> h : call.headers().entrySet()) {
      at = put(message, at, h.getKey());
      at = put(message, at, ": ");
      at = put(message, at, h.getValue());
      at = put(message, at, "\r\n");
    }
    at = put(message, at, "Content-Length: ");
    at = put(message, at, length);
    at = put(message, at, "\r\n\r\n");
    System.arraycopy(body, 0, message, at, body.length);
    return message;
  }

  /**
   * Puts {@code text} at {@code at} in ISO-8859-1 ({@code ?} outside it); returns where it ends.
   */
  private static int put(byte[] into, int at, String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      into[at + i] = c <= 0xFF ? (byte) c : (byte) '?';
    }
    return at + text.length();
  }

  @Override
  public void close() {
    closed = true;
    watchdog.interrupt();
    pools.values().forEach(pool -> pool.connections.forEach(Connection::close));
    pools.clear();
    JdkUpstreamClient h2 = http2;
    if (h2 != null) {
      h2.close();
    }
  }

  /** A reused connection failed before any byte of the answer: safe to send again. */
  private static final class StaleConnectionException extends IOException {
    private static final long serialVersionUID = 1L;

    StaleConnectionException(Throwable cause) {
      super("stale pooled connection", cause);
    }
  }

  /** One socket with its read buffer; used by one exchange at a time. */
  private static final class Connection {
    final Socket socket;
    final Idle pool;
    final Set<Connection> busy;
    final InputStream in;
    final OutputStream out;
    final byte[] buffer = new byte[BUFFER_SIZE];
    int position;
    int limit;
    long idleSince;
    volatile long lastActivityNanos;
    volatile long firstByteTimeoutNanos = Long.MAX_VALUE;
    volatile long idleTimeoutNanos = Long.MAX_VALUE;
    volatile boolean bodyStarted;
    volatile boolean timedOut;
    volatile boolean cancelled;
    private volatile CancelSignal.@Nullable Registration cancellation;

    Connection(Socket socket, Idle pool, Set<Connection> busy) throws IOException {
      this.socket = socket;
      this.pool = pool;
      this.busy = busy;
      this.in = socket.getInputStream();
      this.out = socket.getOutputStream();
    }

    /** A failure caused by the watchdog closing the socket is a timeout; by a cancel, a cancel. */
    IOException timeoutOr(IOException e) {
      if (timedOut) {
        return new TimeoutException(bodyStarted);
      }
      return cancelled ? new IOException("the call was cancelled: its client left", e) : e;
    }

    /** The client left: closes the socket at once; the blocked read fails. */
    void abort() {
      cancelled = true;
      close();
    }

    /**
     * Sends the request and reads the answer's head. {@code staleSuspectNanos} is negative for a
     * fresh connection; for a reused one, the idle time after which a silent close means stale.
     */
    UpstreamResponse exchange(
        byte[] request, UpstreamCall call, long staleSuspectNanos, CancelSignal cancel)
        throws IOException {
      boolean reused = staleSuspectNanos >= 0;
      boolean longIdle = reused && System.nanoTime() - idleSince >= staleSuspectNanos;
      lastActivityNanos = System.nanoTime(); // before the timeouts: the watchdog reads them all
      bodyStarted = false;
      idleTimeoutNanos = call.idleTimeout().toNanos();
      firstByteTimeoutNanos = call.firstByteTimeout().toNanos();
      busy.add(this);
      cancellation = cancel.onCancel(this::abort);
      try {
        out.write(request);
        out.flush();
      } catch (IOException e) {
        close();
        if (cancelled) {
          throw new NotSentException("cancelled while the request was written", e);
        }
        throw reused ? new StaleConnectionException(e) : e;
      }
      boolean answered;
      try {
        answered = fill();
      } catch (IOException e) {
        close();
        if (timedOut || cancelled) {
          throw timeoutOr(e);
        }
        throw longIdle ? new StaleConnectionException(e) : e;
      }
      if (!answered) {
        close();
        IOException closed = new IOException("upstream closed the connection without answering");
        throw longIdle && !cancelled ? new StaleConnectionException(closed) : timeoutOr(closed);
      }
      try {
        return readResponse();
      } catch (IOException | RuntimeException e) {
        close();
        throw e;
      }
    }

    private Response readResponse() throws IOException {
      for (int interim = 0; ; interim++) {
        String statusLine = line();
        int status = parseStatus(statusLine);
        List<String[]> headers = headers();
        if (status >= 100 && status < 200 && status != 101) {
          if (interim >= MAX_INTERIM_ANSWERS) {
            throw new IOException("more than " + MAX_INTERIM_ANSWERS + " interim (1xx) answers");
          }
          continue; // 100 Continue, 103 Early Hints: the real answer follows
        }
        boolean http10 = statusLine.startsWith("HTTP/1.0");
        String connection = find(headers, "connection").orElse("").toLowerCase(Locale.ROOT);
        boolean keepAlive =
            http10 ? connection.contains("keep-alive") : !connection.contains("close");
        InputStream body;
        if (status == 204 || status == 304) {
          body = new FixedLengthBody(0);
        } else if (find(headers, "transfer-encoding")
            .map(v -> v.toLowerCase(Locale.ROOT).contains("chunked"))
            .orElse(false)) {
          body = new ChunkedBody();
        } else {
          long length = find(headers, "content-length").map(Connection::length).orElse(-1L);
          if (length >= 0) {
            body = new FixedLengthBody(length);
          } else {
            keepAlive = false;
            body = new UntilCloseBody();
          }
        }
        return new Response(this, status, headers, body, keepAlive);
      }
    }

    private static long length(String value) {
      try {
        return Long.parseLong(value.trim());
      } catch (NumberFormatException e) {
        return -1;
      }
    }

    private static int parseStatus(String line) throws IOException {
      if (!line.startsWith("HTTP/1.") || line.length() < 12) {
        throw new IOException("not an HTTP/1.x status line: " + truncate(line));
      }
      try {
        return Integer.parseInt(line.substring(9, 12));
      } catch (NumberFormatException e) {
        throw new IOException("bad status line: " + truncate(line), e);
      }
    }

    private static String truncate(String line) {
      return line.length() > 80 ? line.substring(0, 80) : line;
    }

    private List<String[]> headers() throws IOException {
      List<String[]> headers = new ArrayList<>(16);
      int total = 0;
      for (String line = line(); !line.isEmpty(); line = line()) {
        total += line.length();
        if (total > MAX_HEADER_BYTES) {
          throw new IOException("upstream headers larger than " + MAX_HEADER_BYTES + " bytes");
        }
        int colon = line.indexOf(':');
        if (colon > 0) {
          headers.add(
              new String[] {
                line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                line.substring(colon + 1).trim()
              });
        }
      }
      return headers;
    }

    static Optional<String> find(List<String[]> headers, String lowerName) {
      for (String[] h : headers) {
        if (h[0].equals(lowerName)) {
          return Optional.of(h[1]);
        }
      }
      return Optional.empty();
    }

    /** Reads one CRLF- (or LF-) terminated line of ASCII from the buffer. */
    private String line() throws IOException {
      StringBuilder line = null;
      while (true) {
        for (int i = position; i < limit; i++) {
          if (buffer[i] == '\n') {
            int end = i > position && buffer[i - 1] == '\r' ? i - 1 : i;
            String part = new String(buffer, position, end - position, StandardCharsets.ISO_8859_1);
            position = i + 1;
            if (line == null) {
              return part;
            }
            line.append(part);
            // The CR of a CRLF split across reads is at the end of what was kept; a line that
            // began exactly at a read's end may be empty (it was a bare CRLF).
            return !line.isEmpty() && line.charAt(line.length() - 1) == '\r'
                ? line.substring(0, line.length() - 1)
                : line.toString();
          }
        }
        if (line == null) {
          line = new StringBuilder();
        }
        line.append(new String(buffer, position, limit - position, StandardCharsets.ISO_8859_1));
        if (line.length() > MAX_HEADER_BYTES) {
          throw new IOException("upstream header line too long");
        }
        position = limit;
        if (!fill()) {
          throw new IOException("upstream closed the connection in the middle of its headers");
        }
      }
    }

    /** Refills the buffer when empty; false at the end of the stream. */
    private boolean fill() throws IOException {
      if (position < limit) {
        return true;
      }
      int n;
      try {
        n = in.read(buffer, 0, buffer.length);
      } catch (IOException e) {
        throw timeoutOr(e);
      }
      if (bodyStarted) {
        // Before the body, the first-byte timeout runs from the send, whatever trickles in: an
        // upstream sending its head a byte a second once held a request past every timeout.
        lastActivityNanos = System.nanoTime();
      }
      if (n < 0) {
        return false;
      }
      position = 0;
      limit = n;
      return true;
    }

    /** Copies up to {@code length} buffered or freshly read bytes into {@code target}. */
    private int readInto(byte[] target, int offset, int length) throws IOException {
      if (position >= limit) {
        if (length >= buffer.length) {
          try {
            int n = in.read(target, offset, length); // large reads bypass the buffer
            if (bodyStarted) {
              lastActivityNanos = System.nanoTime();
            }
            return n;
          } catch (IOException e) {
            throw timeoutOr(e);
          }
        }
        if (!fill()) {
          return -1;
        }
      }
      int n = Math.min(length, limit - position);
      System.arraycopy(buffer, position, target, offset, n);
      position += n;
      return n;
    }

    void release(boolean keepAlive) {
      busy.remove(this);
      endCancellation();
      if (keepAlive && position == limit && !socket.isClosed() && !cancelled) {
        idleSince = System.nanoTime();
        if (pool.offer(this)) {
          return;
        }
      }
      close();
    }

    void close() {
      busy.remove(this);
      endCancellation();
      try {
        socket.close();
      } catch (IOException e) {
        // nothing more to do with a socket that failed to close
      }
    }

    private void endCancellation() {
      CancelSignal.Registration r = cancellation;
      if (r != null) {
        cancellation = null;
        r.close();
      }
    }

    /** The first byte of the answer's body arrived: from now on the idle timeout applies. */
    void bodyBegan() {
      if (!bodyStarted) {
        lastActivityNanos = System.nanoTime();
        bodyStarted = true;
      }
    }

    /** A body read in blocks; a single byte is a block of one. */
    private abstract static class BodyStream extends InputStream {
      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public abstract int read(byte[] target, int offset, int length) throws IOException;
    }

    /** A body of a known length. */
    private final class FixedLengthBody extends BodyStream {
      private long remaining;

      FixedLengthBody(long length) {
        this.remaining = length;
      }

      @Override
      public int read(byte[] target, int offset, int length) throws IOException {
        if (remaining == 0) {
          return -1;
        }
        int n = readInto(target, offset, (int) Math.min(length, remaining));
        if (n < 0) {
          throw new IOException(
              "upstream answer ended " + remaining + " bytes short of its Content-Length");
        }
        remaining -= n;
        return n;
      }

      @Override
      public int available() {
        return (int) Math.min(remaining, limit - position);
      }

      boolean complete() {
        return remaining == 0;
      }
    }

    /** A {@code Transfer-Encoding: chunked} body, decoded. */
    private final class ChunkedBody extends BodyStream {
      private long chunkRemaining;
      private boolean finished;

      /**
       * A chunk's data was returned and its trailing CRLF not yet read. It is read with the next
       * chunk's size, so that a chunk's data reaches the reader as soon as it arrived — an upstream
       * may flush an SSE event before the CRLF that closes its chunk.
       */
      private boolean crlfPending;

      @Override
      public int read(byte[] target, int offset, int length) throws IOException {
        if (finished) {
          return -1;
        }
        if (chunkRemaining == 0) {
          if (crlfPending) {
            line(); // the CRLF after the previous chunk
            crlfPending = false;
          }
          String size = line();
          int semicolon = size.indexOf(';');
          try {
            chunkRemaining =
                Long.parseLong((semicolon >= 0 ? size.substring(0, semicolon) : size).trim(), 16);
          } catch (NumberFormatException e) {
            throw new IOException("bad chunk size from upstream: " + truncate(size), e);
          }
          if (chunkRemaining == 0) {
            while (!line().isEmpty()) {
              // trailers, ignored
            }
            finished = true;
            return -1;
          }
        }
        int n = readInto(target, offset, (int) Math.min(length, chunkRemaining));
        if (n < 0) {
          throw new IOException("upstream stream broke off in the middle of a chunk");
        }
        chunkRemaining -= n;
        crlfPending = chunkRemaining == 0;
        return n;
      }

      @Override
      public int available() {
        return (int) Math.min(chunkRemaining, limit - position);
      }

      boolean complete() {
        return finished;
      }
    }

    /** A body that ends when the server closes the connection. */
    private final class UntilCloseBody extends BodyStream {
      @Override
      public int read(byte[] target, int offset, int length) throws IOException {
        return readInto(target, offset, length);
      }
    }
  }

  /** The answer; returns its connection to the pool once the body was read to its end. */
  private static final class Response implements UpstreamResponse {
    private final Connection connection;
    private final int status;
    private final List<String[]> headers;
    private final InputStream body;
    private final boolean keepAlive;
    private boolean closed;

    Response(
        Connection connection,
        int status,
        List<String[]> headers,
        InputStream body,
        boolean keepAlive) {
      this.connection = connection;
      this.status = status;
      this.headers = headers;
      this.body = body;
      this.keepAlive = keepAlive;
    }

    @Override
    public int status() {
      return status;
    }

    @Override
    public Optional<String> header(String name) {
      return Connection.find(headers, name.toLowerCase(Locale.ROOT));
    }

    @Override
    public InputStream body() {
      return new InputStream() {
        @Override
        public int read() throws IOException {
          return body.read();
        }

        @Override
        public int read(byte[] target, int offset, int length) throws IOException {
          try {
            int n = body.read(target, offset, length);
            if (n > 0) {
              connection.bodyBegan();
            }
            return n;
          } catch (IOException e) {
            closeConnection();
            throw connection.timeoutOr(e);
          }
        }

        @Override
        public int available() throws IOException {
          return body.available();
        }

        @Override
        public void close() {
          Response.this.close();
        }
      };
    }

    private void closeConnection() {
      if (!closed) {
        closed = true;
        connection.close();
      }
    }

    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      boolean complete =
          switch (body) {
            case Connection.FixedLengthBody fixed -> fixed.complete();
            case Connection.ChunkedBody chunked -> chunked.complete();
            default -> false;
          };
      connection.release(keepAlive && complete);
    }
  }
}
