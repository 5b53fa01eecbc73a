package dev.penstock.server.upstream;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import org.jspecify.annotations.Nullable;

/** The contract's upstream over HTTP/1.1, plain or TLS (ALPN {@code http/1.1}), on raw sockets. */
final class RawUpstream extends TestUpstream {
  private final ServerSocket server;
  private final boolean tls;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final CountDownLatch closing = new CountDownLatch(1);

  private RawUpstream(ServerSocket server, boolean tls) {
    this.server = server;
    this.tls = tls;
    Thread.ofVirtual().start(this::accept);
  }

  /** Listens on {@code bind} (127.0.0.1, or the wildcard address to answer on every loopback). */
  static RawUpstream start(@Nullable SSLContext context, InetAddress bind) throws IOException {
    ServerSocket server;
    if (context == null) {
      server = new ServerSocket();
    } else {
      SSLServerSocket s = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
      SSLParameters parameters = s.getSSLParameters();
      parameters.setApplicationProtocols(new String[] {"http/1.1"});
      s.setSSLParameters(parameters);
      server = s;
    }
    server.bind(new InetSocketAddress(bind, 0), 128);
    return new RawUpstream(server, context != null);
  }

  @Override
  URI uri(String path) {
    return URI.create((tls ? "https" : "http") + "://127.0.0.1:" + port() + path);
  }

  @Override
  int port() {
    return server.getLocalPort();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket socket = server.accept();
        open.add(socket);
        Thread.ofVirtual().start(() -> serve(socket));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket socket) {
    try (socket) {
      InputStream in = new BufferedInputStream(socket.getInputStream());
      OutputStream out = socket.getOutputStream();
      while (true) {
        String requestLine = line(in);
        if (requestLine == null) {
          return;
        }
        List<String> headers = new ArrayList<>();
        int length = 0;
        for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
          int colon = h.indexOf(':');
          String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
          String value = h.substring(colon + 1).trim();
          headers.add(name + ": " + value);
          if (name.equals("content-length")) {
            length = Integer.parseInt(value);
          }
        }
        byte[] body = in.readNBytes(length);
        arrived(socket.getRemoteSocketAddress(), socket.getLocalAddress());
        String[] parts = requestLine.split(" ", -1);
        String path = URI.create(parts[1]).getPath(); // origin- or absolute-form
        switch (path) {
          case "/echo" -> {
            ByteArrayOutputStream echo = new ByteArrayOutputStream();
            echo.writeBytes(("method=" + parts[0] + "\npath=" + path + "\n").getBytes(UTF8));
            for (String h : headers) {
              echo.writeBytes((h + "\n").getBytes(UTF8));
            }
            echo.writeBytes("\n".getBytes(UTF8));
            echo.writeBytes(body);
            out.write(
                ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                        + echo.size()
                        + "\r\n\r\n")
                    .getBytes(UTF8));
            echo.writeTo(out);
            out.flush();
          }
          case "/v1/chat/completions" -> {
            byte[] answer = CHAT_COMPLETION.getBytes(UTF8);
            out.write(
                ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                        + answer.length
                        + "\r\n\r\n")
                    .getBytes(UTF8));
            out.write(answer);
            out.flush();
          }
          case "/sse" -> {
            out.write(STREAM_HEAD);
            chunk(out, "data: one\n\n");
            release.await(30, TimeUnit.SECONDS);
            chunk(out, "data: two\n\n");
            chunk(out, "data: [DONE]\n\n");
            out.write("0\r\n\r\n".getBytes(UTF8));
            out.flush();
          }
          case "/stall" -> {
            out.write(STREAM_HEAD);
            chunk(out, "data: one\n\n");
            closing.await(30, TimeUnit.SECONDS);
            return;
          }
          default -> { // /hang
            closing.await(30, TimeUnit.SECONDS);
            return;
          }
        }
      }
    } catch (IOException e) {
      // the client went away
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      open.remove(socket);
    }
  }

  private static final java.nio.charset.Charset UTF8 = StandardCharsets.UTF_8;

  /** What {@code /v1/chat/completions} answers: a fixed completion, with its usage. */
  static final String CHAT_COMPLETION =
      "{\"id\":\"chatcmpl-raw\",\"object\":\"chat.completion\",\"created\":1,"
          + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
          + "\"assistant\",\"content\":\"Hello over TLS\"},\"finish_reason\":\"stop\"}],"
          + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}";

  private static final byte[] STREAM_HEAD =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
          .getBytes(UTF8);

  private static void chunk(OutputStream out, String data) throws IOException {
    byte[] bytes = data.getBytes(UTF8);
    out.write((Integer.toHexString(bytes.length) + "\r\n").getBytes(UTF8));
    out.write(bytes);
    out.write("\r\n".getBytes(UTF8));
    out.flush();
  }

  /** A CRLF-terminated line, or null at the end of the stream. */
  private static @Nullable String line(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b = in.read(); b >= 0; b = in.read()) {
      if (b == '\n') {
        int end = line.length() > 0 && line.charAt(line.length() - 1) == '\r' ? 1 : 0;
        return line.substring(0, line.length() - end);
      }
      line.append((char) b);
    }
    return line.isEmpty() ? null : line.toString();
  }

  @Override
  public void close() {
    closing.countDown();
    release.countDown();
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    for (Socket s : open) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
  }
}
