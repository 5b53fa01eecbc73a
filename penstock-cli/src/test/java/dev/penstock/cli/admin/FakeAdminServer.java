package dev.penstock.cli.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jspecify.annotations.Nullable;

/**
 * A stand-in for the gateway's admin API on a loopback port: answers each call as scripted by
 * method and path (the query does not choose) and records every request, in order. An unscripted
 * call gets a {@code 404} in OpenAI's error shape, as the gateway answers an unknown URL.
 */
final class FakeAdminServer implements AutoCloseable {
  /** A request as received. */
  record Request(
      String method,
      String pathAndQuery,
      @Nullable String authorization,
      @Nullable String contentType,
      String body) {
    String line() {
      return method + " " + pathAndQuery;
    }
  }

  private record Canned(int status, String body) {}

  private final HttpServer server;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final Map<String, Canned> answers = new ConcurrentHashMap<>();
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private boolean closed; // the test's thread only

  FakeAdminServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  /** Answers {@code method path} (the raw path, without query) with {@code status} and JSON. */
  FakeAdminServer answer(String method, String rawPath, int status, String json) {
    answers.put(method + " " + rawPath, new Canned(status, json));
    return this;
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  List<Request> requests() {
    return List.copyOf(requests);
  }

  /** The one request received; fails when there were none or several. */
  Request onlyRequest() {
    if (requests.size() != 1) {
      throw new AssertionError("expected one request, got " + requests);
    }
    return requests.getFirst();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String rawPath = exchange.getRequestURI().getRawPath();
      String query = exchange.getRequestURI().getRawQuery();
      requests.add(
          new Request(
              exchange.getRequestMethod(),
              query == null ? rawPath : rawPath + "?" + query,
              exchange.getRequestHeaders().getFirst("Authorization"),
              exchange.getRequestHeaders().getFirst("Content-Type"),
              new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
      Canned canned =
          answers.getOrDefault(
              exchange.getRequestMethod() + " " + rawPath,
              new Canned(
                  404,
                  """
                  {"error":{"message":"Unknown URL","type":"invalid_request_error",\
                  "param":null,"code":"not_found"}}"""));
      byte[] bytes = canned.body().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(canned.status(), bytes.length == 0 ? -1 : bytes.length);
      if (bytes.length > 0) {
        exchange.getResponseBody().write(bytes);
      }
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      server.stop(0);
      executor.close();
    }
  }
}
