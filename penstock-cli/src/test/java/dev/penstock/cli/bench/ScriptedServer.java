package dev.penstock.cli.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tiny OpenAI-shaped server on a loopback port that answers each request as a script says, chosen
 * by the request number bench puts in the prompt (not by arrival order, which concurrency makes
 * unpredictable).
 */
final class ScriptedServer implements AutoCloseable {
  private static final Pattern NUMBER = Pattern.compile("Request (\\d+):");

  /** Answers request {@code number}. */
  @FunctionalInterface
  interface Script {
    void answer(long number, HttpExchange exchange) throws IOException, InterruptedException;
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final CountDownLatch released = new CountDownLatch(1);

  ScriptedServer(Script script) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(executor);
    server.createContext(
        "/v1/",
        exchange -> {
          try (exchange) {
            String body =
                new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Matcher matcher = NUMBER.matcher(body);
            script.answer(matcher.find() ? Long.parseLong(matcher.group(1)) : -1, exchange);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    server.start();
  }

  URI baseUrl() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
  }

  /** For scripts: blocks until the server closes, like an upstream that never answers. */
  void hang() throws InterruptedException {
    released.await();
  }

  static void json(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
  }

  /** Sends each event as {@code data: <event>} followed by a blank line, then ends the body. */
  static void sse(HttpExchange exchange, String... events) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
    exchange.sendResponseHeaders(200, 0); // chunked
    OutputStream out = exchange.getResponseBody();
    for (String event : events) {
      out.write(("data: " + event + "\n\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
    }
  }

  @Override
  public void close() {
    released.countDown();
    server.stop(0);
    executor.close();
  }
}
