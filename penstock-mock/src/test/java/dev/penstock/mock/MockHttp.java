package dev.penstock.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

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
  record StreamRead(List<String> lines, @org.jspecify.annotations.Nullable IOException failure) {}

  /** Reads a stream line by line, keeping what arrived before a broken connection. */
  StreamRead streamUntilEnd(String path, String key, String body) throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(root + path))
            .timeout(Duration.ofSeconds(10))
            .header("Authorization", "Bearer " + key)
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    HttpResponse<java.io.InputStream> response =
        client.send(request, HttpResponse.BodyHandlers.ofInputStream());
    List<String> lines = new java.util.ArrayList<>();
    try (var reader =
        new java.io.BufferedReader(
            new java.io.InputStreamReader(
                response.body(), java.nio.charset.StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        lines.add(line);
      }
      return new StreamRead(lines, null);
    } catch (IOException e) {
      return new StreamRead(lines, e);
    }
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
