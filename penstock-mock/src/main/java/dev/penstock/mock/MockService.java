package dev.penstock.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The simulator's HTTP behaviour: authenticates the key, reads the request, asks the key's limiter,
 * rolls for a fault, then answers like OpenAI — at the pace of the latency model. The same
 * operations are served on OpenAI's URLs and on Azure OpenAI's ({@link Route#ALL}); a request's
 * {@link Surface} decides where its model comes from and in whose words its URL and key are
 * refused.
 *
 * <p>Threading: one virtual thread per request (Helidon). Waiting for the latency model is a plain
 * sleep on that thread. Shared state lives in {@link KeyState} (locked) and in the atomic
 * references here; configuration changes through {@code /__keys} and {@code /__faults} are visible
 * to the next request.
 */
final class MockService {
  private static final HeaderName API_KEY = HeaderNames.create("api-key");
  private static final String API_VERSION = "api-version";
  private static final String SSE = "text/event-stream; charset=utf-8";
  private static final String JSON = "application/json";

  private final MockConfig config;
  private final LongSupplier nanoClock;
  private final TokenCounter tokens = new TokenCounter();
  private final Map<String, KeyState> keysBySecret = new ConcurrentHashMap<>();
  private final Map<String, KeyState> keysByName = new ConcurrentHashMap<>();

  /** The keys in their configured order: the order of the admin views. */
  private final List<KeyState> keys = new ArrayList<>();

  private final AtomicReference<FaultRates> globalFaults;
  private final AtomicLong sequence = new AtomicLong();
  private final CountDownLatch shutdown = new CountDownLatch(1);
  private final Listeners listeners;

  /** Starts and stops the dedicated per-key listeners when a key dies or revives. */
  interface Listeners {
    void keyChanged(KeySpec before, KeySpec after);
  }

  MockService(MockConfig config, LongSupplier nanoClock, Listeners listeners) {
    this.config = config;
    this.nanoClock = nanoClock;
    this.listeners = listeners;
    this.globalFaults = new AtomicReference<>(config.faults());
    for (KeySpec spec : config.keys()) {
      KeyState state = new KeyState(spec);
      keysBySecret.put(spec.secret(), state);
      keysByName.put(spec.name(), state);
      keys.add(state);
    }
  }

  void routing(HttpRouting.Builder routing) {
    for (Route route : Route.ALL) {
      routing.post(route.path(), (req, res) -> guarded(res, () -> generate(route, req, res)));
    }
    modelRoutes(routing, "/v1/models", Surface.OPENAI);
    // Azure lists a resource's models under both API generations; the gateway's health check of
    // an Azure deployment asks /openai/models?api-version=...
    modelRoutes(routing, "/openai/models", Surface.AZURE_CLASSIC);
    modelRoutes(routing, "/openai/v1/models", Surface.AZURE_V1);
    routing
        .get("/__stats", (req, res) -> sendJson(res, 200, MockStatsJson.stats(stats())))
        .get("/__config", (req, res) -> sendJson(res, 200, configJson()))
        .post("/__reset", (req, res) -> guarded(res, () -> reset(res)))
        .post("/__faults", (req, res) -> guarded(res, () -> setGlobalFaults(req, res)))
        .post("/__keys/{name}", (req, res) -> guarded(res, () -> changeKey(req, res)))
        .any((req, res) -> sendError(res, notFound(req)));
  }

  private void modelRoutes(HttpRouting.Builder routing, String path, Surface surface) {
    routing
        .get(path, (req, res) -> guarded(res, () -> models(surface, req, res)))
        .get(path + "/{id}", (req, res) -> guarded(res, () -> model(surface, req, res)));
  }

  /** An unknown URL, answered as the provider whose URL space it is in would answer it. */
  private static ApiException notFound(ServerRequest req) {
    if (req.path().path().startsWith("/openai/")) {
      return MockErrors.azureNotFound();
    }
    return new ApiException(
        404,
        "invalid_request_error",
        "Invalid URL (" + req.prologue().method().text() + " " + req.path().path() + ")",
        null,
        null);
  }

  // ---- the generating endpoints ----

  private void generate(Route route, ServerRequest req, ServerResponse res)
      throws IOException, InterruptedException {
    Endpoint endpoint = route.endpoint();
    long seq = sequence.incrementAndGet();
    SplittableRandom random = new SplittableRandom(config.seed() * 0x9E3779B97F4A7C15L + seq);
    long idHigh = random.nextLong();
    long idLow = random.nextLong();
    res.header(
        "x-request-id",
        "req_" + HexFormat.of().toHexDigits(idHigh) + HexFormat.of().toHexDigits(idLow));
    if (route.surface().azure()) {
      res.header("apim-request-id", new UUID(idHigh, idLow).toString());
    } else {
      res.header("openai-version", "2020-10-01");
    }
    KeyState key = admit(route.surface(), req);
    if (key.spec().dead()) {
      // A dead key without a listener of its own: the closest to "connection refused" that a
      // shared port allows is dropping the connection before any answer.
      throw new CloseConnectionException("key " + key.spec().name() + " is dead");
    }
    JsonNode body = Wire.parse(req.content().as(byte[].class));
    String deployment =
        route.surface().modelFromPath() ? req.path().pathParameters().get(Route.DEPLOYMENT) : null;
    MockRequest request = MockRequest.parse(endpoint, body, deployment, config, tokens);
    long now = nanoClock.getAsLong();
    FaultKind fault = faults().overriddenBy(key.spec().faults()).pick(random.nextDouble());
    if (fault == FaultKind.QUOTA) {
      key.arriveWithoutAdmission(now, request.tokenCost());
      key.recordFault(fault);
      sendError(res, MockErrors.insufficientQuota());
      return;
    }
    SlidingWindowLimiter.Decision decision = key.admit(now, request.tokenCost());
    MockHeaders.rateLimits(res, decision.headroom());
    switch (decision) {
      case SlidingWindowLimiter.TooLarge tooLarge -> {
        sendError(res, MockErrors.tooLarge(request.model(), tooLarge));
        return;
      }
      case SlidingWindowLimiter.RateLimited limited -> {
        MockHeaders.retryAfter(res, limited.retryAfterNanos());
        sendError(res, MockErrors.rateLimited(request.model(), limited));
        return;
      }
      case SlidingWindowLimiter.Accepted accepted -> {}
    }
    Generation generation =
        Generation.of(
            idFor(endpoint, random),
            System.currentTimeMillis() / 1000,
            request,
            config.outputTokens());
    if (fault != null) {
      key.recordFault(fault);
      injectFault(fault, endpoint, request, generation, random, res);
      return;
    }
    // Counted before the answer's last bytes go out, so that a client that has read its whole
    // answer always finds it in /__stats.
    Runnable succeeded =
        () ->
            key.recordSuccess(
                request.promptTokens(),
                endpoint == Endpoint.EMBEDDINGS ? 0 : generation.completionTokens());
    if (request.stream()) {
      streamWriter(res, random).write(endpoint, request, generation, false, succeeded);
    } else {
      answer(endpoint, request, generation, random, res, succeeded);
    }
  }

  private void answer(
      Endpoint endpoint,
      MockRequest request,
      Generation generation,
      SplittableRandom random,
      ServerResponse res,
      Runnable succeeded)
      throws InterruptedException {
    long latency = config.latency().firstTokenNanos(random);
    if (endpoint != Endpoint.EMBEDDINGS) {
      for (int i = 0; i < generation.completionTokensPerChoice(); i++) {
        latency += config.latency().perTokenNanos(random);
      }
    }
    TimeUnit.NANOSECONDS.sleep(latency);
    res.header("openai-processing-ms", Long.toString(latency / 1_000_000));
    ObjectNode body = body(endpoint, request, generation);
    succeeded.run();
    sendJson(res, 200, body);
  }

  private static ObjectNode body(Endpoint endpoint, MockRequest request, Generation generation) {
    return switch (endpoint) {
      case CHAT -> Wire.chatCompletion(generation);
      case COMPLETIONS -> Wire.completion(generation);
      case RESPONSES -> Wire.response(generation, request.outputCap(), true);
      case EMBEDDINGS -> Wire.embeddings(request);
    };
  }

  private void injectFault(
      FaultKind fault,
      Endpoint endpoint,
      MockRequest request,
      Generation generation,
      SplittableRandom random,
      ServerResponse res)
      throws IOException, InterruptedException {
    switch (fault) {
      case ERROR_500 -> sendError(res, MockErrors.serverError());
      case ERROR_503 -> sendError(res, MockErrors.overloaded());
      case ERROR_502 -> {
        res.status(502).header(HeaderNames.CONTENT_TYPE, "text/html");
        res.send(MockErrors.BAD_GATEWAY_HTML.getBytes(StandardCharsets.UTF_8));
      }
      case RESET -> throw new CloseConnectionException("injected reset");
      case HANG -> {
        shutdown.await(config.hangMillis(), TimeUnit.MILLISECONDS);
        throw new CloseConnectionException("injected hang ended");
      }
      case MALFORMED -> {
        if (request.stream()) {
          streamWriter(res, random).write(endpoint, request, generation, true, () -> {});
        } else {
          byte[] whole = Wire.bytes(body(endpoint, request, generation));
          res.header(HeaderNames.CONTENT_TYPE, JSON);
          res.send(java.util.Arrays.copyOf(whole, whole.length / 2));
        }
      }
      case CUT -> cut(endpoint, request, generation, random, res);
      case QUOTA -> throw new IllegalStateException("quota is answered before the limiter");
    }
  }

  /** Starts a real answer, then drops the connection half-way: no terminating chunk, no [DONE]. */
  private void cut(
      Endpoint endpoint,
      MockRequest request,
      Generation generation,
      SplittableRandom random,
      ServerResponse res)
      throws IOException, InterruptedException {
    if (request.stream()) {
      streamWriter(res, random).writeHalfThenDrop(endpoint, request, generation);
      return;
    }
    byte[] whole = Wire.bytes(body(endpoint, request, generation));
    res.header(HeaderNames.CONTENT_TYPE, JSON);
    res.header(HeaderNames.CONTENT_LENGTH, Integer.toString(whole.length));
    OutputStream out = res.outputStream();
    out.write(whole, 0, whole.length / 2);
    out.flush();
    throw new CloseConnectionException("injected cut");
  }

  private StreamWriter streamWriter(ServerResponse res, SplittableRandom random) {
    return new StreamWriter(res, config.latency(), random, config.streamJsonStyle());
  }

  // ---- models ----

  private void models(Surface surface, ServerRequest req, ServerResponse res) {
    admit(surface, req);
    sendJson(res, 200, Wire.models(config.models(), 1_700_000_000L));
  }

  private void model(Surface surface, ServerRequest req, ServerResponse res) {
    admit(surface, req);
    String id = req.path().pathParameters().get("id");
    if (!config.models().contains(id)) {
      if (surface.azure()) {
        throw MockErrors.azureNotFound();
      }
      sendError(
          res,
          new ApiException(
              404,
              "invalid_request_error",
              "The model '" + id + "' does not exist",
              "model",
              "model_not_found"));
      return;
    }
    sendJson(res, 200, Wire.model(id, 1_700_000_000L));
  }

  // ---- control endpoints ----

  private void reset(ServerResponse res) {
    keysByName.values().forEach(KeyState::reset);
    sendJson(res, 200, MockStatsJson.stats(stats()));
  }

  private void setGlobalFaults(ServerRequest req, ServerResponse res) {
    JsonNode rates = Wire.parse(req.content().as(byte[].class));
    try {
      globalFaults.set(MockConfigLoader.faultRates(rates, "faults"));
    } catch (IllegalArgumentException e) {
      throw ApiException.invalid(e);
    }
    sendJson(res, 200, configJson());
  }

  private void changeKey(ServerRequest req, ServerResponse res) {
    String name = req.path().pathParameters().get("name");
    KeyState key = keysByName.get(name);
    if (key == null) {
      sendError(
          res,
          new ApiException(
              404, "invalid_request_error", "no key named '" + name + "'", "name", null));
      return;
    }
    JsonNode change = Wire.parse(req.content().as(byte[].class));
    KeySpec before = key.spec();
    KeySpec after;
    try {
      after =
          before
              .withLimits(
                  change.path("rpm").asLong(before.rpm()), change.path("tpm").asLong(before.tpm()))
              .withDead(change.path("dead").asBoolean(before.dead()));
      if (change.has("faults")) {
        after = after.withFaults(MockConfigLoader.faultRates(change.get("faults"), "faults"));
      }
    } catch (IllegalArgumentException e) {
      throw ApiException.invalid(e);
    }
    key.spec(after);
    listeners.keyChanged(before, after);
    sendJson(res, 200, configJson());
  }

  // ---- helpers ----

  private ObjectNode configJson() {
    return MockStatsJson.config(specs(), faults(), config.streamJsonStyle());
  }

  FaultRates faults() {
    return globalFaults.get();
  }

  List<KeySpec> specs() {
    return keys.stream().map(KeyState::spec).toList();
  }

  List<KeyStats> stats() {
    return keys.stream().map(KeyState::stats).toList();
  }

  /** Releases requests held by {@code hang} faults so that the server can stop. */
  void shutdown() {
    shutdown.countDown();
  }

  /**
   * Checks what the surface requires before the body is read — Azure's {@code api-version}, then
   * the key — and returns the key's state. The key may come as {@code Authorization: Bearer} (an
   * OpenAI key, or an Entra token on Azure) or as Azure's {@code api-key} header: either way it is
   * the same key, with the same limits.
   */
  private KeyState admit(Surface surface, ServerRequest req) {
    // Azure does not document which it checks first; the URL (api-version included) is taken to
    // be resolved before the credential is looked at, as a routing layer in front would do.
    if (surface.requiresApiVersion() && req.query().first(API_VERSION).orElse("").isBlank()) {
      throw MockErrors.azureNotFound();
    }
    String secret = bearer(req.headers().first(HeaderNames.AUTHORIZATION).orElse(null));
    if (secret == null) {
      secret = req.headers().first(API_KEY).orElse(null);
    }
    if (secret == null || secret.isBlank()) {
      throw surface.azure() ? MockErrors.azureAccessDenied() : MockErrors.noKey();
    }
    KeyState key = keysBySecret.get(secret);
    if (key == null) {
      throw surface.azure() ? MockErrors.azureAccessDenied() : MockErrors.invalidKey(secret);
    }
    return key;
  }

  private static @Nullable String bearer(@Nullable String authorization) {
    if (authorization == null) {
      return null;
    }
    String trimmed = authorization.trim();
    return trimmed.regionMatches(true, 0, "Bearer ", 0, 7) ? trimmed.substring(7).trim() : null;
  }

  private static String idFor(Endpoint endpoint, SplittableRandom random) {
    String prefix =
        switch (endpoint) {
          case CHAT -> "chatcmpl-";
          case COMPLETIONS -> "cmpl-";
          case RESPONSES -> "resp_";
          case EMBEDDINGS -> "emb-";
        };
    return prefix
        + HexFormat.of().toHexDigits(random.nextLong())
        + HexFormat.of().toHexDigits(random.nextInt()).toLowerCase(Locale.ROOT);
  }

  /** Runs a handler body, turning {@link ApiException}s into OpenAI-shaped error answers. */
  private static void guarded(ServerResponse res, ThrowingRunnable body) throws Exception {
    try {
      body.run();
    } catch (ApiException e) {
      sendError(res, e);
    }
  }

  @FunctionalInterface
  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  /** The one place where an {@link ApiException} becomes an answer, in its provider's shape. */
  static void sendError(ServerResponse res, ApiException e) {
    String code = e.code();
    sendJson(
        res,
        e.status(),
        e.azureShape() && code != null
            ? Wire.azureError(code, e.getMessage())
            : Wire.error(e.type(), e.getMessage(), e.param(), code));
  }

  static void sendJson(ServerResponse res, int status, JsonNode body) {
    res.status(status).header(HeaderNames.CONTENT_TYPE, JSON);
    res.send(Wire.bytes(body));
  }

  static String sseContentType() {
    return SSE;
  }
}
