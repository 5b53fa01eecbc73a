package dev.penstock.server.testing;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import dev.penstock.core.Admissions;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.http.GatewayServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * The one end-to-end fixture: a provider simulator and a gateway in front of it on loopback, an
 * OpenAI SDK client and a plain HTTP client pointed at the gateway.
 *
 * <p>Closing it checks what every test must leave behind — no reservation leaked, none still open,
 * no deployment with a request in flight, nothing queued — after waiting (at most {@link
 * #IDLE_WAIT}) for requests whose clients left to wind down. A test that leaks capacity fails
 * there, whatever it asserted itself.
 */
public final class GatewayFixture implements AutoCloseable {
  /** How long {@link #awaitIdle} waits for requests in flight to end. */
  public static final Duration IDLE_WAIT = Duration.ofSeconds(15);

  private final @Nullable MockServer mock;
  private GatewayServer gateway;
  private final HttpClient http = HttpClient.newHttpClient();
  private @Nullable OpenAIClient sdk;
  private boolean closed;
  private boolean gatewayStopped;

  private GatewayFixture(@Nullable MockServer mock, GatewayServer gateway) {
    this.mock = mock;
    this.gateway = gateway;
  }

  /**
   * Starts the simulator, then a gateway from {@code yaml}, in which {@code ${MOCK}} stands for the
   * simulator's {@code /v1} base URL and {@code ${MOCK_AZURE}} for its Azure OpenAI endpoint (the
   * resource root, below which Azure's {@code /openai/...} paths hang).
   */
  public static GatewayFixture start(MockConfig mockConfig, String yaml) {
    return start(mockConfig, yaml, b -> b);
  }

  /** Like {@link #start(MockConfig, String)}, with a say in how the gateway is built. */
  public static GatewayFixture start(
      MockConfig mockConfig, String yaml, UnaryOperator<GatewayServer.Builder> customize) {
    MockServer mock = MockServer.start(mockConfig);
    try {
      GatewayConfig config = parse(withMock(yaml, mock));
      return new GatewayFixture(mock, customize.apply(GatewayServer.builder(config)).start());
    } catch (RuntimeException e) {
      mock.close();
      throw e;
    }
  }

  /** A gateway without a simulator (its upstreams are the test's own). */
  public static GatewayFixture gatewayOnly(
      String yaml, UnaryOperator<GatewayServer.Builder> customize) {
    return new GatewayFixture(null, customize.apply(GatewayServer.builder(parse(yaml))).start());
  }

  /**
   * Stops the gateway (after checking it is idle) and starts another from {@code yaml} in front of
   * the same simulator; returns the new gateway.
   */
  public GatewayServer restart(String yaml) {
    awaitIdle();
    gateway.close();
    String text = mock == null ? yaml : withMock(yaml, mock);
    gateway = GatewayServer.builder(parse(text)).start();
    if (sdk != null) {
      sdk.close();
      sdk = null;
    }
    return gateway;
  }

  private static String withMock(String yaml, MockServer mock) {
    return yaml.replace("${MOCK_AZURE}", mock.azureEndpoint()).replace("${MOCK}", mock.baseUrl());
  }

  /**
   * Parses gateway YAML with an empty environment; a relative {@code storage.path} (the default one
   * too) lands in a new temporary directory, so that no two gateways share a database.
   */
  public static GatewayConfig parse(String yaml) {
    try {
      return new ConfigLoader(Map.<String, String>of()::get)
          .parse(yaml, "test.yaml", java.nio.file.Files.createTempDirectory("penstock-test-"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  public MockServer mock() {
    if (mock == null) {
      throw new IllegalStateException("this fixture has no simulator");
    }
    return mock;
  }

  public GatewayServer gateway() {
    return gateway;
  }

  /** The gateway's {@code /v1} base URL. */
  public String baseUrl() {
    return gateway.baseUrl();
  }

  /** The official OpenAI SDK pointed at the gateway, without retries of its own. */
  public OpenAIClient sdk() {
    if (sdk == null) {
      sdk =
          OpenAIOkHttpClient.builder()
              .baseUrl(gateway.baseUrl())
              .apiKey("sk-client")
              .maxRetries(0)
              .timeout(Duration.ofSeconds(30))
              .build();
    }
    return sdk;
  }

  public HttpClient http() {
    return http;
  }

  /** {@code POST} to a path below the gateway's root ({@code /v1/...}); bounded to 30 s. */
  public HttpResponse<String> post(String path, String body, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(root() + path))
            .timeout(Duration.ofSeconds(30))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(request::header);
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** {@code GET} of a path below the gateway's root; bounded to 30 s. */
  public HttpResponse<String> get(String path, Map<String, String> headers) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(root() + path)).timeout(Duration.ofSeconds(30)).GET();
    headers.forEach(request::header);
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** {@code http://host:port}, without {@code /v1}. */
  public String root() {
    return "http://" + gateway.config().host() + ":" + gateway.port();
  }

  /** Waits, at most {@link #IDLE_WAIT}, until the gateway is idle; see {@link #assertIdle}. */
  public void awaitIdle() {
    assertIdle(gateway);
  }

  /**
   * Waits (bounded) until {@code gateway} serves no request, holds no reservation, queues nothing
   * and has no request in flight on any deployment, and checks that none leaked; throws {@link
   * AssertionError} describing what is left otherwise.
   */
  public static void assertIdle(GatewayServer gateway) {
    Admissions admissions = gateway.admissions();
    long deadline = System.nanoTime() + IDLE_WAIT.toNanos();
    List<String> left = leftovers(gateway, admissions);
    while (!left.isEmpty() && System.nanoTime() < deadline) {
      LockSupport.parkNanos(5_000_000);
      left = leftovers(gateway, admissions);
    }
    if (admissions.leakedReservations() != 0) {
      left.add(admissions.leakedReservations() + " reservations leaked");
    }
    int holds = gateway.tenants().allowances().openHolds();
    if (holds != 0) {
      left.add(holds + " budget holds open");
    }
    if (!left.isEmpty()) {
      throw new AssertionError("the gateway is not idle after " + IDLE_WAIT + ": " + left);
    }
  }

  private static List<String> leftovers(GatewayServer gateway, Admissions admissions) {
    // A request is served until its handler returns: a cache hit holds no reservation, yet its
    // ledger record is written after its answer's last byte.
    int serving = gateway.inFlight();
    return admissions.inspect(
        s -> {
          List<String> left = new ArrayList<>();
          if (serving != 0) {
            left.add(serving + " requests being served");
          }
          if (s.outstanding() != 0) {
            left.add(s.outstanding() + " reservations open");
          }
          if (s.queued() != 0) {
            left.add(s.queued() + " requests queued");
          }
          s.deploymentsByModel().values().stream()
              .flatMap(List::stream)
              .forEach(
                  name ->
                      s.deployment(name)
                          .filter(d -> d.inFlight() != 0)
                          .ifPresent(d -> left.add(name + " has " + d.inFlight() + " in flight")));
          s.checkInvariantsDeeply(admissions.ticker().nanos());
          return left;
        });
  }

  /**
   * Stops the gateway the way {@code SIGTERM} does, whatever it is running (a batch, say), and
   * checks that the stop released everything it held; the simulator stays up, for its counters,
   * until {@link #close()}.
   */
  public void stopGateway() {
    if (gatewayStopped) {
      return;
    }
    gatewayStopped = true;
    gateway.close();
    assertIdle(gateway);
  }

  /** Checks that the gateway is idle (unless a test stopped it), then stops everything. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (sdk != null) {
        sdk.close();
      }
      if (!gatewayStopped) {
        awaitIdle();
      }
    } finally {
      if (!gatewayStopped) {
        gateway.close();
      }
      if (mock != null) {
        mock.close();
      }
      http.close();
    }
  }
}
