package dev.penstock.server.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.core.Admissions;
import dev.penstock.core.time.Ticker;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.health.ActiveHealthChecks;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.TokenEstimator;
import dev.penstock.server.pipeline.ErrorResponses;
import dev.penstock.server.pipeline.Pipeline;
import dev.penstock.server.pipeline.RoutingTables;
import dev.penstock.server.telemetry.GatewayMetrics;
import dev.penstock.server.telemetry.Redactor;
import dev.penstock.server.telemetry.Telemetry;
import dev.penstock.server.upstream.HelidonUpstreamClient;
import dev.penstock.server.upstream.JdkUpstreamClient;
import dev.penstock.server.upstream.PooledHttp1Client;
import dev.penstock.server.upstream.UpstreamClient;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running gateway: Helidon's server on virtual threads in front of the {@link Pipeline}, the
 * {@link Admissions} scheduler and the upstream client. {@link #reload} installs a new
 * configuration without dropping requests in flight; {@link #close} stops accepting, lets requests
 * in flight finish (bounded), then stops.
 */
public final class GatewayServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GatewayServer.class);
  private static final Set<String> API_PATHS =
      Set.of(
          "/v1/chat/completions",
          "/v1/completions",
          "/v1/embeddings",
          "/v1/responses",
          "/v1/models");

  private final TokenEstimator tokens = new TokenEstimator();
  private final Admissions admissions;
  private final UpstreamClient client;
  private final Pipeline pipeline;
  private final AdminApi admin;
  private final ActiveHealthChecks healthChecks;
  private final Telemetry telemetry;
  private final Map<String, StaticFile> ui = StaticFile.load("dev/penstock/server/ui/", UI_FILES);
  private final InFlight inFlight = new InFlight();
  private volatile boolean draining;
  private final WebServer server;
  private volatile GatewayConfig config;

  private GatewayServer(GatewayConfig config, Ticker ticker) {
    this.config = config;
    this.admissions = new Admissions(RoutingTables.topology(config), ticker, true);
    this.client = upstreamClient();
    Pipeline.Routing routing = RoutingTables.routing(config, tokens);
    this.telemetry =
        new Telemetry(
            config.observability(),
            admissions,
            System::currentTimeMillis,
            new Redactor(() -> upstreamKeys(this.config)),
            version());
    this.pipeline =
        new Pipeline(
            admissions,
            client,
            routing,
            ticker,
            System::currentTimeMillis,
            telemetry.observer(),
            config.observability().logBodies());
    this.healthChecks = new ActiveHealthChecks(admissions);
    healthChecks.install(routing.targets().values());
    this.admin = new AdminApi(admissions, () -> this.config.adminKey());
    admissions.onHealthChange(
        change ->
            LOG.warn(
                "deployment {}: circuit {} -> {}",
                change.deployment(),
                change.from().name().toLowerCase(java.util.Locale.ROOT),
                change.to().name().toLowerCase(java.util.Locale.ROOT)));
    this.server =
        WebServer.builder()
            .host(config.host())
            .port(config.port())
            .backlog(8192)
            // The body limit is max_body_bytes, enforced (and reloadable) in HelidonExchange.
            .maxPayloadSize(-1)
            // Exactly one protocol: with a single candidate Helidon answers a garbled request line
            // through the direct handlers; with several it closes the connection without a word.
            .protocolsDiscoverServices(false)
            .addProtocol(HttpLimits.http1())
            .directHandlers(HttpLimits.directHandlers())
            .shutdownGracePeriod(Duration.ofSeconds(2)) // Penstock drains first; see close()
            .connectionOptions(socket -> socket.tcpNoDelay(true))
            .routing(this::routing)
            .build()
            .start();
    LOG.info(
        "penstock listening on http://{}:{}/v1 with {} models, {} deployments",
        config.host(),
        server.port(),
        config.models().size(),
        config.models().values().stream().mapToInt(m -> m.deployments().size()).sum());
  }

  /**
   * Penstock's pooled HTTP/1.1 client, unless {@code -Dpenstock.upstreamClient=helidon} or {@code
   * =jdk} asks for a library's: the overhead benchmark compares all three
   * (docs/decisions/0001-upstream-http-client.md).
   */
  private static UpstreamClient upstreamClient() {
    return switch (System.getProperty("penstock.upstreamClient", "pooled")) {
      case "jdk" -> new JdkUpstreamClient();
      case "helidon" -> new HelidonUpstreamClient();
      default -> new PooledHttp1Client();
    };
  }

  /** Starts a gateway; it accepts connections when this returns. */
  public static GatewayServer start(GatewayConfig config) {
    return new GatewayServer(config, Ticker.system());
  }

  public int port() {
    return server.port();
  }

  public String baseUrl() {
    return "http://" + config.host() + ":" + port() + "/v1";
  }

  /** The live dashboard's page. */
  public String dashboardUrl() {
    return "http://" + config.host() + ":" + port() + "/ui";
  }

  public Admissions admissions() {
    return admissions;
  }

  /**
   * Installs a new, already validated configuration. Requests in flight finish on the deployments
   * they hold; deployments that stay keep their limit state. The listen address is not changed.
   */
  public synchronized void reload(GatewayConfig next) {
    admissions.configure(RoutingTables.topology(next));
    Pipeline.Routing routing = RoutingTables.routing(next, tokens);
    pipeline.routing(routing);
    healthChecks.install(routing.targets().values());
    config = next;
  }

  private void routing(HttpRouting.Builder routing) {
    routing.addFilter(HttpLimits::headers);
    for (Endpoint endpoint : Endpoint.values()) {
      routing.post("/v1" + endpoint.path(), (req, res) -> proxy(endpoint, req, res));
    }
    routing
        .get("/v1/models", (req, res) -> models(res))
        .get("/v1/models/{id}", (req, res) -> model(req, res))
        .get("/health/live", (req, res) -> health(res, true))
        .get("/health/ready", (req, res) -> health(res, ready()))
        .get("/metrics", (req, res) -> metrics(res))
        .get("/ui", (req, res) -> staticFile(res, "index.html"))
        .get("/ui/", (req, res) -> staticFile(res, "index.html"))
        .get("/ui/api/state", (req, res) -> admin(req, res, this::dashboardState))
        .get("/ui/{file}", (req, res) -> staticFile(res, req.path().pathParameters().get("file")))
        .get("/admin/deployments", (req, res) -> admin(req, res, admin::deployments))
        .post(
            "/admin/deployments/{name}/{action}",
            (req, res) ->
                admin(
                    req,
                    res,
                    () ->
                        admin.act(
                            req.path().pathParameters().get("name"),
                            req.path().pathParameters().get("action"))))
        .any((req, res) -> unknownRoute(req, res));
  }

  private void proxy(Endpoint endpoint, ServerRequest req, ServerResponse res) {
    // Counted before the draining check: a drain that starts now waits for this request.
    inFlight.enter();
    try {
      if (draining) {
        res.header(HeaderNames.CONNECTION, "close");
        res.header(HeaderNames.RETRY_AFTER, "1");
        send(res, SHUTTING_DOWN);
        return;
      }
      pipeline.handle(endpoint, new HelidonExchange(req, res, config.defaults().maxBodyBytes()));
    } catch (UncheckedIOException e) {
      // The client left while its answer was written: nobody is there to answer.
      LOG.debug("client of {} went away: {}", req.path().path(), e.getMessage());
    } catch (RuntimeException e) {
      // The pipeline answers every client mistake itself (HelidonExchange turns an unreadable body
      // into one); what arrives here is Penstock's own bug, and only that is a 500.
      LOG.error("unexpected failure serving {}", req.path().path(), e);
      if (!res.isSent()) {
        send(res, ErrorResponses.ofProtocol(500));
      }
    } finally {
      inFlight.exit();
    }
  }

  private void admin(
      ServerRequest req, ServerResponse res, java.util.function.Supplier<AdminApi.Answer> call) {
    try {
      admin.authorise(req.headers().first(HeaderNames.AUTHORIZATION), req.remotePeer().address());
      AdminApi.Answer answer = call.get();
      json(res, answer.status(), answer.body());
    } catch (ApiError e) {
      send(res, e);
    }
  }

  /** {@code GET /metrics}: Prometheus text format; 404 when {@code metrics.enabled} is false. */
  private void metrics(ServerResponse res) {
    Optional<GatewayMetrics> metrics = telemetry.metrics();
    if (metrics.isEmpty()) {
      send(res, METRICS_OFF);
      return;
    }
    res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
    res.send(metrics.get().scrape().getBytes(StandardCharsets.UTF_8));
  }

  /** {@code GET /ui/api/state}: the live dashboard's data (admin-authorised like /admin). */
  private AdminApi.Answer dashboardState() {
    return telemetry
        .dashboard()
        .map(d -> new AdminApi.Answer(200, d.state()))
        .orElseThrow(() -> METRICS_OFF);
  }

  /** The dashboard page's own files: static, no data in them, so no authorisation. */
  private void staticFile(ServerResponse res, String name) {
    StaticFile file = ui.get(name);
    if (file == null) {
      send(res, ApiError.notFound("No such file: /ui/" + name, null, "unknown_url"));
      return;
    }
    res.header(HeaderNames.CONTENT_TYPE, file.contentType());
    res.header(HeaderNames.CACHE_CONTROL, "no-cache");
    res.send(file.bytes());
  }

  private static final List<String> UI_FILES = List.of("index.html", "app.js", "style.css");

  private static final ApiError METRICS_OFF =
      ApiError.notFound(
          "Metrics are off in this gateway's configuration (metrics.enabled: false).",
          null,
          "metrics_disabled");

  private static List<String> upstreamKeys(GatewayConfig config) {
    return config.models().values().stream()
        .flatMap(m -> m.deployments().stream())
        .map(d -> d.apiKey().reveal())
        .filter(k -> !k.isEmpty())
        .toList();
  }

  private static String version() {
    String version = GatewayServer.class.getPackage().getImplementationVersion();
    return version != null ? version : "dev";
  }

  private void models(ServerResponse res) {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    for (String model : config.models().keySet()) {
      data.add(modelJson(model));
    }
    json(res, 200, root);
  }

  private void model(ServerRequest req, ServerResponse res) {
    String id = req.path().pathParameters().get("id");
    if (!config.models().containsKey(id)) {
      send(res, ApiError.modelNotFound(id));
      return;
    }
    json(res, 200, modelJson(id));
  }

  private static ObjectNode modelJson(String id) {
    ObjectNode model = JsonNodeFactory.instance.objectNode();
    model.put("id", id);
    model.put("object", "model");
    model.put("created", 0);
    model.put("owned_by", "penstock");
    return model;
  }

  private boolean ready() {
    if (draining) {
      return false;
    }
    return admissions.inspect(
        s ->
            config.models().values().stream()
                .flatMap(m -> m.deployments().stream())
                .anyMatch(
                    d ->
                        s.deployment(d.name()).map(l -> l.disabledReason() == null).orElse(false)));
  }

  private static void health(ServerResponse res, boolean up) {
    ObjectNode body = JsonNodeFactory.instance.objectNode();
    body.put("status", up ? "UP" : "DOWN");
    json(res, up ? 200 : 503, body);
  }

  private static void unknownRoute(ServerRequest req, ServerResponse res) {
    String path = req.path().path();
    Method method = req.prologue().method();
    if (API_PATHS.contains(path) || path.startsWith("/v1/models/")) {
      res.header(HeaderNames.ALLOW, path.startsWith("/v1/models") ? "GET" : "POST");
      send(
          res,
          new ApiError(
              405,
              "invalid_request_error",
              "Method " + method.text() + " is not allowed on " + path + ".",
              null,
              "method_not_allowed",
              -1));
      return;
    }
    send(
        res,
        ApiError.notFound("Invalid URL (" + method.text() + " " + path + ")", null, "unknown_url"));
  }

  /** Sends an error answer, its JSON from {@link ErrorResponses}. */
  static void send(ServerResponse res, ApiError error) {
    res.status(HttpLimits.status(error.status()));
    res.header(HeaderNames.CONTENT_TYPE, "application/json");
    res.send(ErrorResponses.body(error));
  }

  private static void json(ServerResponse res, int status, ObjectNode body) {
    res.status(status);
    res.header(HeaderNames.CONTENT_TYPE, "application/json");
    try {
      res.send(RequestReader.JSON.writeValueAsBytes(body));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The settings in force. */
  public GatewayConfig config() {
    return config;
  }

  /**
   * Starts draining: from now on new requests get {@code 503 shutting_down} (with {@code
   * Retry-After} and {@code Connection: close}) and readiness reports DOWN; requests in flight, and
   * those waiting in the queue, carry on. {@link #close} drains first.
   */
  public void drain() {
    draining = true;
  }

  /** Requests being served now (the queue's included). */
  public int inFlight() {
    return inFlight.count();
  }

  /**
   * Stops gracefully: drains, waits up to {@code defaults.shutdown_grace_ms} for the requests in
   * flight to finish, then stops. Requests still running after the grace period end with a clean
   * error ({@code 503 shutting_down}, or an SSE error event for a stream that began), never a hang.
   */
  @Override
  public void close() {
    drain();
    long graceMillis = config.defaults().shutdownGraceMillis();
    int pending = inFlight.count();
    if (pending > 0) {
      LOG.info("stopping: waiting up to {} ms for {} requests in flight", graceMillis, pending);
    }
    try {
      if (!inFlight.awaitIdle(graceMillis * 1_000_000)) {
        LOG.warn(
            "stopping: {} requests still in flight after {} ms; ending them",
            inFlight.count(),
            graceMillis);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // Waiting requests are refused and upstream calls cut before the server stops, so that every
    // handler still running answers at once.
    healthChecks.close();
    admissions.close();
    client.close();
    server.stop();
    telemetry.close();
  }

  private static final ApiError SHUTTING_DOWN =
      new ApiError(
          503, "penstock_unavailable", "Penstock is shutting down.", null, "shutting_down", 1000);
}
