package dev.penstock.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/** A small JDK HttpClient wrapper for talking to a simulator in tests. */
final class MockHttp implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient client =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(2))
          .build();
  private final String root;

  MockHttp(MockServer server) {
    this("http://127.0.0.1:" + server.port());
  }

  MockHttp(String root) {
    this.root = root;
  }

  HttpResponse<String> post(String path, String key, String body) throws Exception {
    return send(path, key, body, Duration.ofSeconds(10));
  }

  HttpResponse<String> send(String path, String key, String body, Duration timeout)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(root + path))
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (!key.isEmpty()) {
      request.header("Authorization", "Bearer " + key);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Reads a stream line by line; throws if the connection breaks before the end. */
  List<String> streamLines(String path, String key, String body) throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(root + path))
            .timeout(Duration.ofSeconds(10))
            .header("Authorization", "Bearer " + key)
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    return client
        .send(request, HttpResponse.BodyHandlers.ofLines())
        .body()
        .collect(Collectors.toList());
  }

  /** What a client read of a stream before it ended, and how it ended. */
  record StreamRead(List<String> lines, @Nullable IOException failure) {}

  /**
   * Reads a stream line by line over a plain socket, keeping what arrived before the connection
   * ended. The JDK client is no use here: when a connection breaks it may report the failure before
   * handing over the bytes that arrived ahead of it, so what a client "saw" would be a race.
   */
  StreamRead streamUntilEnd(String path, String key, String body) throws IOException {
    URI uri = URI.create(root);
    byte[] payload = body.getBytes(StandardCharsets.UTF_8);
    String head =
        "POST "
            + path
            + " HTTP/1.1\r\nHost: "
            + uri.getHost()
            + "\r\nAuthorization: Bearer "
            + key
            + "\r\nContent-Type: application/json\r\nContent-Length: "
            + payload.length
            + "\r\n\r\n";
    try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      out.write(payload);
      out.flush();
      DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
      String status = asciiLine(in);
      if (status == null || !status.startsWith("HTTP/1.1 200")) {
        throw new IOException("not a 200: " + status);
      }
      for (String line = asciiLine(in); line != null && !line.isEmpty(); line = asciiLine(in)) {
        // headers: the body is chunked
      }
      ByteArrayOutputStream content = new ByteArrayOutputStream();
      IOException failure = null;
      try {
        while (true) {
          String size = asciiLine(in);
          if (size == null) {
            throw new EOFException("the connection ended inside the chunked body");
          }
          int length = Integer.parseInt(size.trim(), 16);
          if (length == 0) {
            break;
          }
          byte[] chunk = new byte[length];
          in.readFully(chunk);
          content.write(chunk);
          asciiLine(in); // the CRLF after the chunk
        }
      } catch (IOException e) {
        failure = e;
      }
      return new StreamRead(content.toString(StandardCharsets.UTF_8).lines().toList(), failure);
    }
  }

  /** One line of a response head or chunk size, without its CRLF; null at the end of input. */
  private static @Nullable String asciiLine(DataInputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b = in.read(); b != '\n'; b = in.read()) {
      if (b < 0) {
        return null;
      }
      if (b != '\r') {
        line.append((char) b);
      }
    }
    return line.toString();
  }

  /** Sends {@code method path} with exactly the given headers (say, Azure's {@code api-key}). */
  HttpResponse<String> exchange(
      String method, String path, Map<String, String> headers, String body) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(root + path))
            .timeout(Duration.ofSeconds(10))
            .method(
                method,
                body.isEmpty()
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(request::header);
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Reads a stream line by line, sent with exactly the given headers. */
  List<String> streamLines(String path, Map<String, String> headers, String body) throws Exception {
    return exchange("POST", path, headers, body).body().lines().toList();
  }

  static Map<String, String> apiKey(String key) {
    return Map.of("api-key", key, "Content-Type", "application/json");
  }

  static Map<String, String> bearer(String key) {
    return Map.of("Authorization", "Bearer " + key, "Content-Type", "application/json");
  }

  HttpResponse<String> get(String path, String key) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(root + path)).GET();
    if (!key.isEmpty()) {
      request.header("Authorization", "Bearer " + key);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode json(HttpResponse<String> response) throws IOException {
    return JSON.readTree(response.body());
  }

  static String chat(int maxTokens, boolean stream) {
    return """
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello there"}],
         "max_tokens": %d, "stream": %s, "stream_options": {"include_usage": true}}
        """
        .formatted(maxTokens, stream);
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Override
  public void close() {
    client.close();
  }
}
