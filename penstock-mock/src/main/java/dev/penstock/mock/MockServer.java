package dev.penstock.mock;

import io.helidon.webserver.WebServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A running provider simulator: the main listener, plus one listener per key that has a port of its
 * own (so that the key can be made dead — connection refused — and revived at runtime).
 *
 * <p>Thread-safe. {@link #close()} releases requests held by {@code hang} faults and stops every
 * listener.
 */
public final class MockServer implements AutoCloseable {

  /**
   * The embedding the simulator answers for {@code text} at {@code dimensions}: determined by the
   * text alone, so a test can check that each caller got the vector of its own input.
   */
  public static float[] embeddingOf(String text, int dimensions) {
    return Wire.vector(text, dimensions);
  }

  private final MockConfig config;
  private final MockService service;
  private final WebServer main;
  private final ReentrantLock listenersLock = new ReentrantLock();
  // Guarded by listenersLock.
  private final Map<String, WebServer> dedicated = new ConcurrentHashMap<>();

  private MockServer(MockConfig config) {
    this.config = config;
    this.service = new MockService(config, System::nanoTime, this::keyChanged);
    this.main = listener(config.port());
    for (KeySpec key : config.keys()) {
      if (key.port() > 0 && !key.dead()) {
        dedicated.put(key.name(), listener(key.port()));
      }
    }
  }

  /** Starts a simulator; the listeners accept connections when this returns. */
  public static MockServer start(MockConfig config) {
    return new MockServer(config);
  }

  public MockConfig config() {
    return config;
  }

  /** The main listener's port (useful when the config asked for port 0). */
  public int port() {
    return main.port();
  }

  /** The OpenAI base URL of the main listener, e.g. {@code http://127.0.0.1:9000/v1}. */
  public String baseUrl() {
    return "http://" + config.host() + ":" + port() + "/v1";
  }

  /**
   * The Azure OpenAI endpoint of the main listener, e.g. {@code http://127.0.0.1:9000}: Azure's
   * paths ({@code /openai/deployments/...}, {@code /openai/responses}, {@code /openai/v1/...}) hang
   * below it.
   */
  public String azureEndpoint() {
    return "http://" + config.host() + ":" + port();
  }

  /** The current statistics of every key, in configuration order. */
  public List<KeyStats> stats() {
    return service.stats();
  }

  /** The keys as they are now (limits, faults and liveness may have changed at runtime). */
  public List<KeySpec> keys() {
    return service.specs();
  }

  private WebServer listener(int port) {
    return WebServer.builder()
        .host(config.host())
        .port(port)
        .backlog(8192)
        .shutdownGracePeriod(Duration.ofMillis(200))
        .connectionOptions(socket -> socket.tcpNoDelay(true))
        .routing(service::routing)
        .build()
        .start();
  }

  private void keyChanged(KeySpec before, KeySpec after) {
    if (after.port() == 0 || before.dead() == after.dead()) {
      return;
    }
    listenersLock.lock();
    try {
      if (after.dead()) {
        WebServer server = dedicated.remove(after.name());
        if (server != null) {
          server.stop();
        }
      } else {
        dedicated.computeIfAbsent(after.name(), name -> listener(after.port()));
      }
    } finally {
      listenersLock.unlock();
    }
  }

  @Override
  public void close() {
    service.shutdown();
    listenersLock.lock();
    try {
      dedicated.values().forEach(WebServer::stop);
      dedicated.clear();
    } finally {
      listenersLock.unlock();
    }
    main.stop();
  }
}
