package dev.penstock.server.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.server.cache.CacheAdmin;
import dev.penstock.server.cache.CacheService;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.pipeline.ErrorResponses;
import dev.penstock.server.pipeline.Pipeline;
import dev.penstock.server.pipeline.ProxyCall;
import dev.penstock.server.telemetry.BuildInfo;
import dev.penstock.server.telemetry.GatewayMetrics;
import dev.penstock.server.telemetry.Telemetry;
import dev.penstock.server.tenant.KeyAdmin;
import dev.penstock.server.tenant.StorageException;
import dev.penstock.server.tenant.Tenants;
import dev.penstock.server.tenant.VirtualKey;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the gateway answers on which path: the OpenAI API under {@code /v1} (through the {@link
 * Pipeline}), models, health, metrics, the dashboard and the admin API. The server's lifecycle —
 * start, reload, drain, stop — is {@link GatewayServer}'s; this class only routes and answers.
 *
 * <p>Every answer carries an {@code x-request-id} (set by a filter before any route); the proxied
 * ones also carry {@code x-penstock-attempts} and {@code x-penstock-queue-ms}, and {@code
 * x-penstock-deployment} once an attempt was made.
 */
final class GatewayRoutes {
  private static final Logger LOG = LoggerFactory.getLogger(GatewayRoutes.class);
  // The request's id travels from the filter to the handler in its answer's header: a request's
  // Helidon context (a lock and three maps) was made for nothing else.
  private static final HeaderName REQUEST_ID = HeaderNames.create("x-request-id");
  private static final Set<String> API_PATHS =
      Set.of(
          "/v1/chat/completions",
          "/v1/completions",
          "/v1/embeddings",
          "/v1/responses",
          "/v1/models");
  private static final List<String> UI_FILES = List.of("index.html", "app.js", "style.css");

  private final Pipeline pipeline;

  /** The batches the dashboard shows (BatchRoutes#dashboard). */
  private final Supplier<com.fasterxml.jackson.databind.JsonNode> batches;

  private final AdminApi admin;
  private final Telemetry telemetry;
  private final Supplier<GatewayConfig> config;
  private final InFlight inFlight;
  private final BooleanSupplier draining;
  private final BooleanSupplier ready;
  private final SlowRequestGuard guard;
  private final KeyAdmin keys;
  private final Tenants tenants;
  private final CacheService cache;
  private final CacheAdmin cacheAdmin;
  private final Map<String, StaticFile> ui = StaticFile.load("dev/penstock/server/ui/", UI_FILES);

  GatewayRoutes(
      Pipeline pipeline,
      AdminApi admin,
      Telemetry telemetry,
      Supplier<GatewayConfig> config,
      InFlight inFlight,
      BooleanSupplier draining,
      BooleanSupplier ready,
      SlowRequestGuard guard,
      Tenants tenants,
      CacheService cache,
      Supplier<com.fasterxml.jackson.databind.JsonNode> batches) {
    this.batches = batches;
    this.pipeline = pipeline;
    this.admin = admin;
    this.telemetry = telemetry;
    this.config = config;
    this.inFlight = inFlight;
    this.draining = draining;
    this.ready = ready;
    this.guard = guard;
    this.tenants = tenants;
    this.keys = new KeyAdmin(tenants);
    this.cache = cache;
    this.cacheAdmin = new CacheAdmin(cache);
  }

  void register(HttpRouting.Builder routing) {
    routing.addFilter(GatewayRoutes::requestId);
    routing.addFilter(HttpLimits::headers);
    for (Endpoint endpoint : Endpoint.values()) {
      routing.post("/v1" + endpoint.path(), (req, res) -> proxy(endpoint, req, res));
    }
    routing
        .get("/v1/models", (req, res) -> authorised(req, res, () -> models(res)))
        .get("/v1/models/{id}", (req, res) -> authorised(req, res, () -> model(req, res)))
        .get("/health/live", (req, res) -> health(res, true))
        .get("/health/ready", (req, res) -> health(res, ready.getAsBoolean()))
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
        .post("/admin/keys", (req, res) -> admin(req, res, () -> created(keys.create(body(req)))))
        .get("/admin/keys", (req, res) -> admin(req, res, () -> ok(keys.list())))
        .get("/admin/keys/{id}", (req, res) -> admin(req, res, () -> ok(keys.show(id(req)))))
        .patch(
            "/admin/keys/{id}",
            (req, res) -> admin(req, res, () -> ok(keys.update(id(req), body(req)))))
        .delete("/admin/keys/{id}", (req, res) -> admin(req, res, () -> ok(keys.revoke(id(req)))))
        .get(
            "/admin/usage",
            (req, res) ->
                admin(
                    req,
                    res,
                    () ->
                        ok(
                            keys.usage(
                                req.query().first("from").orElse(null),
                                req.query().first("to").orElse(null),
                                req.query().first("group_by").orElse(null)))))
        .get("/admin/cache", (req, res) -> admin(req, res, () -> ok(cacheAdmin.show())))
        .delete(
            "/admin/cache",
            (req, res) ->
                admin(
                    req,
                    res,
                    () ->
                        ok(
                            cacheAdmin.delete(
                                req.query().first("model").orElse(null),
                                req.query().first("key").orElse(null),
                                tenants.keys().all()))))
        .any(GatewayRoutes::unknownRoute);
  }

  /** Gives every request its id, on its answer and for the pipeline's record. */
  private static void requestId(FilterChain chain, RoutingRequest req, RoutingResponse res) {
    String id = Pipeline.newRequestId();
    res.header(REQUEST_ID, id);
    chain.proceed();
  }

  private void proxy(Endpoint endpoint, ServerRequest req, ServerResponse res) {
    // Counted before the draining check: a drain that starts now waits for this request.
    inFlight.enter();
    boolean clientLeft = false;
    try {
      if (draining.getAsBoolean()) {
        res.header(HeaderNames.CONNECTION, "close");
        res.header(HeaderNames.RETRY_AFTER, "1");
        res.header("retry-after-ms", "1000"); // what the OpenAI SDKs read first
        // Refused before the pipeline, yet a proxied answer like any other (ProxyCall's headers):
        // no attempt made, no time queued.
        res.header("x-penstock-attempts", "0");
        res.header("x-penstock-queue-ms", "0");
        res.header("x-penstock-cache", ProxyCall.CACHE_BYPASS);
        send(res, ErrorResponses.shuttingDown());
        return;
      }
      String id = res.headers().first(REQUEST_ID).orElseGet(Pipeline::newRequestId);
      HelidonExchange exchange =
          new HelidonExchange(req, res, config.get().defaults().maxBodyBytes(), guard);
      pipeline.handle(endpoint, exchange, id);
      clientLeft = exchange.leftUnanswered();
    } catch (UncheckedIOException | CloseConnectionException e) {
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
    if (clientLeft) {
      // The pipeline answers every request except one whose client left (or stopped reading):
      // its connection is closed quietly, rather than the server answering 500 to nobody (and
      // logging a warning with a stack trace for each).
      throw new CloseConnectionException("the client left before its answer");
    }
  }

  private static AdminApi.Answer ok(ObjectNode body) {
    return new AdminApi.Answer(200, body);
  }

  private static AdminApi.Answer created(ObjectNode body) {
    return new AdminApi.Answer(201, body);
  }

  private static String id(ServerRequest req) {
    return req.path().pathParameters().get("id");
  }

  /** The largest admin request body: a key's policy is a few hundred bytes. */
  private static final int MAX_ADMIN_BODY = 64 * 1024;

  /** An admin request's body, at most {@link #MAX_ADMIN_BODY} bytes ({@code 413} above). */
  private static byte[] body(ServerRequest req) {
    try (java.io.InputStream in = req.content().inputStream()) {
      byte[] bytes = in.readNBytes(MAX_ADMIN_BODY + 1);
      if (bytes.length > MAX_ADMIN_BODY) {
        throw new ApiError(
            413,
            "invalid_request_error",
            "The body is larger than " + MAX_ADMIN_BODY + " bytes.",
            null,
            "request_too_large",
            -1);
      }
      return bytes;
    } catch (java.io.IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * An admin-authorised {@code GET} answering {@code body}'s JSON (for routes registered beside).
   */
  void adminJson(
      ServerRequest req,
      ServerResponse res,
      Supplier<com.fasterxml.jackson.databind.node.ObjectNode> body) {
    admin(req, res, () -> new AdminApi.Answer(200, body.get()));
  }

  private void admin(ServerRequest req, ServerResponse res, Supplier<AdminApi.Answer> call) {
    try {
      admin.authorise(req.headers().first(HeaderNames.AUTHORIZATION), req.remotePeer().address());
      AdminApi.Answer answer = call.get();
      json(res, answer.status(), answer.body());
    } catch (ApiError e) {
      send(res, e);
    } catch (StorageException e) {
      // The database failed under a key change (disk full, removed): say so, in OpenAI's shape.
      LOG.error("admin: the storage failed: {}", e.getMessage());
      send(
          res,
          new ApiError(
              503,
              "server_error",
              "The gateway's storage failed; the change was not made (see the gateway's log).",
              null,
              "storage_unavailable",
              5_000));
    }
  }

  /** {@code GET /metrics}: Prometheus text format; 404 when {@code metrics.enabled} is false. */
  private void metrics(ServerResponse res) {
    Optional<GatewayMetrics> metrics = telemetry.metrics();
    if (metrics.isEmpty()) {
      send(res, metricsOff());
      return;
    }
    res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
    res.send(metrics.get().scrape().getBytes(StandardCharsets.UTF_8));
  }

  /** {@code GET /ui/api/state}: the live dashboard's data (admin-authorised like /admin). */
  private AdminApi.Answer dashboardState() {
    return telemetry
        .dashboard()
        .map(
            d -> {
              ObjectNode state = d.state();
              keys(state.putArray("keys"), d.perKey());
              state.set("cache", CacheAdmin.json(cache.stats()));
              state.set("batches", batches.get());
              return new AdminApi.Answer(200, state);
            })
        .orElseThrow(GatewayRoutes::metricsOff);
  }

  /**
   * The dashboard's key table: the ten keys that spent most today, with their requests and {@code
   * 429}s since the gateway started. Names and ids only; never a key.
   */
  private void keys(ArrayNode out, Map<String, long[]> counts) {
    record Row(VirtualKey key, double spent) {}
    tenants.keys().all().stream()
        .map(k -> new Row(k, tenants.allowances().spentToday(k.id())))
        .filter(r -> r.spent() > 0 || counts.containsKey(r.key().id()))
        .sorted(
            java.util.Comparator.comparingDouble(Row::spent)
                .reversed()
                .thenComparingLong(r -> -counts.getOrDefault(r.key().id(), new long[2])[0]))
        .limit(10)
        .forEach(
            r -> {
              long[] c = counts.getOrDefault(r.key().id(), new long[2]);
              ObjectNode row = out.addObject();
              row.put("id", r.key().id());
              row.put("name", r.key().name());
              row.put("spend_usd_today", r.spent());
              row.put("requests", c[0]);
              row.put("rate_limited", c[1]);
            });
  }

  /** A new error per answer, as exceptions should be; the path is rare, the allocation free. */
  private static ApiError metricsOff() {
    return ApiError.notFound(
        "Metrics are off in this gateway's configuration (metrics.enabled: false).",
        null,
        "metrics_disabled");
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

  /** Serves a {@code /v1} read once the caller shows a live virtual key, when one is needed. */
  private void authorised(ServerRequest req, ServerResponse res, Runnable serve) {
    if (tenants.authRequired()) {
      String presented =
          Tenants.presentedKey(
              req.headers().first(HeaderNames.AUTHORIZATION).orElse(""),
              req.headers().first(HeaderNames.create("api-key")).orElse(""));
      if (tenants.keys().authenticate(presented).isEmpty()) {
        send(res, Tenants.invalidKey());
        return;
      }
    }
    serve.run();
  }

  private void models(ServerResponse res) {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    for (String model : config.get().models().keySet()) {
      data.add(modelJson(model));
    }
    json(res, 200, root);
  }

  private void model(ServerRequest req, ServerResponse res) {
    String id = req.path().pathParameters().get("id");
    if (!config.get().models().containsKey(id)) {
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

  private static void health(ServerResponse res, boolean up) {
    ObjectNode body = JsonNodeFactory.instance.objectNode();
    body.put("status", up ? "UP" : "DOWN");
    // Which build answers: what an operator checks after an upgrade or a rolling restart.
    body.put("version", BuildInfo.current().version());
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
      throw new UncheckedIOException(e);
    }
  }
}
