package dev.penstock.server.upstream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * A CONNECT-only HTTP proxy for tests: it answers {@code 407} unless the request carries the
 * expected {@code Proxy-Authorization: Basic}, {@code 502} when it cannot reach the target, else
 * {@code 200} and pipes bytes both ways (on virtual threads) until either side closes. It counts
 * the tunnels it opened and remembers the targets asked for.
 */
final class TunnelProxy implements AutoCloseable {
  private static final String PROXY_AUTH_REQUIRED =
      "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=test\r\nContent-Length: 0\r\n\r\n";

  private final ServerSocket server;
  private final @Nullable String expectedAuthorization;
  private final AtomicInteger tunnels = new AtomicInteger();
  private final AtomicInteger refused = new AtomicInteger();
  private final List<String> targets = new CopyOnWriteArrayList<>();
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();

  /** A proxy that wants {@code user:password} (or nothing, when {@code user} is null). */
  TunnelProxy(@Nullable String user, @Nullable String password) throws IOException {
    this.expectedAuthorization =
        user == null
            ? null
            : "Basic "
                + Base64.getEncoder()
                    .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    server = new ServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    Thread.ofVirtual().start(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  /** {@code http://user:password@127.0.0.1:port}. */
  String url(@Nullable String user, @Nullable String password) {
    return "http://" + (user == null ? "" : user + ":" + password + "@") + "127.0.0.1:" + port();
  }

  /** Tunnels opened (CONNECTs answered 200). */
  int tunnels() {
    return tunnels.get();
  }

  /** CONNECTs answered 407. */
  int refused() {
    return refused.get();
  }

  List<String> targets() {
    return List.copyOf(targets);
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        open.add(client);
        Thread.ofVirtual().start(() -> serve(client));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket client) {
    Socket target = null;
    try {
      InputStream in = client.getInputStream();
      OutputStream out = client.getOutputStream();
      String requestLine = line(in);
      String authorization = null;
      for (String h = line(in); !h.isEmpty(); h = line(in)) {
        int colon = h.indexOf(':');
        if (colon > 0
            && h.substring(0, colon)
                .trim()
                .toLowerCase(Locale.ROOT)
                .equals("proxy-authorization")) {
          authorization = h.substring(colon + 1).trim();
        }
      }
      String[] parts = requestLine.split(" ", -1);
      if (parts.length != 3 || !parts[0].equals("CONNECT")) {
        out.write(answer("405 Method Not Allowed"));
        return;
      }
      targets.add(parts[1]);
      if (expectedAuthorization != null && !expectedAuthorization.equals(authorization)) {
        refused.incrementAndGet();
        out.write(PROXY_AUTH_REQUIRED.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        return;
      }
      int colon = parts[1].lastIndexOf(':');
      String host = parts[1].substring(0, colon).replace("[", "").replace("]", "");
      int port = Integer.parseInt(parts[1].substring(colon + 1));
      try {
        target = new Socket();
        target.connect(new InetSocketAddress(host, port), 2_000);
      } catch (IOException e) {
        out.write(answer("502 Bad Gateway"));
        return;
      }
      open.add(target);
      tunnels.incrementAndGet();
      out.write(
          "HTTP/1.1 200 Connection Established\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      Socket upstream = target;
      Thread back = Thread.ofVirtual().start(() -> pipe(upstream, client));
      pipe(client, upstream);
      back.join(30_000);
    } catch (IOException e) {
      // a side went away
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      closeQuietly(client);
      if (target != null) {
        closeQuietly(target);
      }
    }
  }

  private static byte[] answer(String status) {
    return ("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1);
  }

  /** Copies until the source ends, then closes both sides: the tunnel is over. */
  private void pipe(Socket from, Socket to) {
    byte[] buffer = new byte[16 * 1024];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // one side closed
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private void closeQuietly(Socket socket) {
    open.remove(socket);
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b = in.read(); b >= 0; b = in.read()) {
      if (b == '\n') {
        int end = line.length() > 0 && line.charAt(line.length() - 1) == '\r' ? 1 : 0;
        return line.substring(0, line.length() - end);
      }
      line.append((char) b);
    }
    throw new IOException("the client closed in the middle of its request");
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    open.forEach(this::closeQuietly);
  }
}
