package dev.penstock.embedded;

import dev.penstock.core.AdmissionRejectedException;
import dev.penstock.core.Admissions;
import dev.penstock.core.CancelSignal;
import dev.penstock.core.Topology;
import dev.penstock.core.limit.DeploymentLimits;
import dev.penstock.core.limit.Pacing;
import dev.penstock.core.queue.Priority;
import dev.penstock.core.time.Ticker;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Penstock's pacing inside one application: the gateway's scheduler (penstock-core) in front of a
 * pool of deployments, reached over the JDK's HTTP client. Each call reserves 1 request and its
 * estimated tokens on a deployment that has room — or waits, by priority, until one has, or is
 * refused at once with {@code 429} when it cannot start before its deadline — is sent with that
 * deployment's URL and key, and is settled with the usage the answer reports; {@code x-ratelimit-*}
 * headers correct the deployment's state, transient failures are retried on another deployment, and
 * circuit breakers take sick ones out of rotation. See docs/library.md.
 *
 * <p>Build one per application ({@link #builder()} or {@link #fromYaml(Path)}) and share it: it is
 * thread-safe, and callers block (a virtual thread each is the intended use) in {@link #call}.
 * {@link dev.penstock.embedded.openai.PenstockOpenAI} puts the OpenAI SDK on top of it.
 *
 * <h2>Threads</h2>
 *
 * <p>All named {@code penstock-*}: one platform dispatcher thread ({@code penstock-dispatcher}),
 * virtual threads for the HTTP client's work ({@code penstock-http-*}), for {@link #callAsync}
 * ({@code penstock-call-*}) and for {@link #send}'s body delivery ({@code penstock-body-*}). {@link
 * #close()} refuses calls still waiting ({@code 503 shutting_down}), aborts those in flight, ends
 * open streams, settles every reservation and waits for these threads to end.
 */
public final class Penstock implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Penstock.class);

  /** The window providers count their limits over (the gateway's too). */
  private static final Duration WINDOW = Duration.ofSeconds(60);

  /** How long {@link #close()} waits for calls in flight to let go. */
  private static final long CLOSE_WAIT_NANOS = Duration.ofSeconds(5).toNanos();

  private final Map<String, Model> models;
  private final Settings settings;
  private final TokenCounter tokenCounter;
  private final Admissions admissions;
  private final ExecutorService httpExecutor;
  private final List<HttpClient> clients;
  private final CallLoop loop;
  private final AutoCloseable metrics;
  private final Set<CancelSignal> inFlight = ConcurrentHashMap.newKeySet();
  private final Streams streams = new Streams();
  private final Set<Thread> workers = ConcurrentHashMap.newKeySet();
  private final ThreadFactory callThreads = Thread.ofVirtual().name("penstock-call-", 0).factory();
  private final ThreadFactory bodyThreads = Thread.ofVirtual().name("penstock-body-", 0).factory();
  private volatile boolean closed;

  /** The streamed answers whose bodies are still open: {@link #close()} ends them. */
  static final class Streams {
    private final Set<SettlingStream> open = ConcurrentHashMap.newKeySet();

    void opened(SettlingStream stream) {
      open.add(stream);
    }

    void closed(@Nullable SettlingStream stream) {
      if (stream != null) {
        open.remove(stream);
      }
    }
  }

  private Penstock(Builder b) {
    if (b.models.isEmpty()) {
      throw new IllegalArgumentException("Penstock needs at least one model with a deployment");
    }
    this.models = Map.copyOf(b.models);
    this.settings = b.settings;
    this.tokenCounter = b.tokenCounter;
    this.admissions = new Admissions(topology(b.models.values(), settings), Ticker.system(), true);
    this.httpExecutor =
        Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("penstock-http-", 0).factory());
    Map<Duration, HttpClient> byConnectTimeout = new LinkedHashMap<>();
    Map<String, Target> targets = new HashMap<>();
    for (Model model : b.models.values()) {
      for (Deployment d : model.deployments()) {
        Duration connect =
            d.connectTimeout().isZero() ? settings.connectTimeout() : d.connectTimeout();
        HttpClient client = byConnectTimeout.computeIfAbsent(connect, this::newClient);
        targets.put(d.name(), new Target(d, client, settings));
      }
    }
    this.clients = List.copyOf(byConnectTimeout.values());
    Observer observer = Observer.NONE;
    AutoCloseable binding = () -> {};
    if (b.meterRegistry != null) {
      EmbeddedMetrics bound = EmbeddedMetrics.bind(b.meterRegistry, admissions);
      observer = bound;
      binding = bound;
    }
    this.metrics = binding;
    this.loop = new CallLoop(admissions, targets, settings, observer, streams);
    admissions.onHealthChange(
        change -> LOG.info("deployment {}: circuit {}", change.deployment(), change));
    admissions.onLeak(
        r -> LOG.warn("a reservation on {} was left unsettled (a bug); settled", r.deployment()));
  }

  private HttpClient newClient(Duration connectTimeout) {
    // HTTP/1.1, as the gateway (decision 0003): no h2c upgrade dance with plain-HTTP upstreams.
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(connectTimeout)
        .executor(httpExecutor)
        .build();
  }

  static Topology topology(Iterable<Model> models, Settings settings) {
    List<Topology.ModelRoute> routes = new ArrayList<>();
    for (Model model : models) {
      List<Topology.DeploymentSpec> specs = new ArrayList<>();
      for (Deployment d : model.deployments()) {
        specs.add(
            new Topology.DeploymentSpec(
                d.name(),
                new DeploymentLimits(d.rpm(), d.tpm(), d.maxConcurrency(), d.tpmCharge()),
                d.priority(),
                d.weight()));
      }
      routes.add(new Topology.ModelRoute(model.name(), specs, model.fallbacks()));
    }
    return new Topology(
        routes,
        new Pacing(WINDOW.toNanos(), settings.pacingGuard().toNanos()),
        settings.maxQueued(),
        settings.retry(),
        settings.breaker());
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * A Penstock from the gateway's YAML file: its {@code models:}, {@code defaults:}, {@code retry:}
   * and {@code circuit_breaker:}, with {@code ${VAR}} and {@code ${VAR:-default}} read from the
   * environment; the gateway-only sections are ignored with a warning (see docs/library.md).
   *
   * @throws PenstockConfigException naming the field path and line of every problem
   */
  public static Penstock fromYaml(Path file) throws IOException {
    return builder().yaml(file).build();
  }

  /**
   * Sends one call through the pool and returns its answer, blocking while it waits for capacity.
   * Penstock's own refusals are answers too ({@code 429}, {@code 503}, ...), in OpenAI's error
   * shape; close the answer (a streamed one holds its reservation until then).
   *
   * @throws InterruptedException when the calling thread is interrupted: the call is withdrawn from
   *     the queue, or its upstream request aborted, and its reservation settled
   */
  public PenstockResponse call(PenstockRequest request) throws InterruptedException {
    if (closed) {
      return Errors.shuttingDown(Map.of());
    }
    String endpoint = request.endpoint();
    if (request.method().equals("GET") && endpoint.equals("models")) {
      return modelList();
    }
    if (!request.method().equals("POST")) {
      return Errors.invalid(
          404,
          "unsupported_endpoint",
          "penstock-embedded paces POST calls with a JSON body (chat/completions, responses,"
              + " embeddings, completions); "
              + request.method()
              + " /v1/"
              + endpoint
              + " is not one.");
    }
    Priority priority;
    long timeoutNanos;
    RequestPeek peek;
    try {
      priority = request.header("x-penstock-priority").map(Priority::parse).orElse(Priority.NORMAL);
      timeoutNanos = timeoutNanos(request);
      peek = RequestPeek.read(request.body(), endpoint, settings.maxOutputTokens(), tokenCounter);
    } catch (IllegalArgumentException e) {
      return Errors.invalid(400, "invalid_request", String.valueOf(e.getMessage()));
    }
    if (!models.containsKey(peek.model())) {
      return Errors.invalid(
          404,
          "model_not_found",
          "The model '" + peek.model() + "' is not served by this Penstock.");
    }
    CancelSignal cancel = new CancelSignal();
    inFlight.add(cancel);
    try {
      if (closed) {
        cancel.cancel("shutting_down"); // close() may have gone over the set before this call
      }
      return loop.run(request, peek, priority, timeoutNanos, cancel);
    } catch (AdmissionRejectedException e) {
      return Errors.of(e.rejected(), Map.of());
    } finally {
      inFlight.remove(cancel);
    }
  }

  private long timeoutNanos(PenstockRequest request) {
    return request
        .header("x-penstock-timeout-ms")
        .map(
            text -> {
              try {
                long millis = Long.parseLong(text.trim());
                if (millis > 0) {
                  return Duration.ofMillis(millis).toNanos();
                }
              } catch (NumberFormatException e) {
                // reported below
              }
              throw new IllegalArgumentException(
                  "x-penstock-timeout-ms must be a positive whole number of milliseconds");
            })
        .orElse(settings.timeout().toNanos());
  }

  /**
   * {@link #call} on a thread of Penstock's own ({@code penstock-call-*}). Cancelling the future
   * interrupts the call: it is withdrawn, or its upstream request aborted, and its reservation
   * settled; an answer that arrives anyway is closed.
   */
  public CompletableFuture<PenstockResponse> callAsync(PenstockRequest request) {
    CompletableFuture<PenstockResponse> future = new CompletableFuture<>();
    Thread thread =
        callThreads.newThread(
            () -> {
              try {
                PenstockResponse response = call(request);
                if (!future.complete(response)) {
                  response.close(); // nobody is there to read it: settles a stream
                }
              } catch (InterruptedException e) {
                future.completeExceptionally(new CancellationException("interrupted"));
              } catch (Throwable e) {
                future.completeExceptionally(e);
              }
            });
    start(thread);
    var _ =
        future.whenComplete(
            (response, error) -> {
              if (future.isCancelled()) {
                thread.interrupt();
              }
            });
    return future;
  }

  /**
   * Sends a {@link java.net.http.HttpRequest} through the pool, like {@link HttpClient#send}: its
   * URI's path is taken relative to {@code /v1} (the host is ignored: {@code
   * http://penstock/v1/chat/completions} or {@code http://x/chat/completions} alike), its body's
   * {@code model} chooses the pool, and the answer is delivered to {@code handler}.
   */
  public <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
      throws IOException, InterruptedException {
    PenstockRequest call =
        new PenstockRequest(
            request.method(),
            JdkExchange.relativePath(request.uri()),
            request.headers().map(),
            JdkExchange.bodyOf(request));
    PenstockResponse response = call(call);
    return JdkExchange.deliver(request, response, handler, this::startBodyThread);
  }

  private void startBodyThread(Runnable task) {
    start(bodyThreads.newThread(task));
  }

  private void start(Thread thread) {
    workers.removeIf(t -> !t.isAlive()); // amortised: the set holds live threads only
    workers.add(thread);
    thread.start();
  }

  private PenstockResponse modelList() {
    StringBuilder json = new StringBuilder("{\"object\":\"list\",\"data\":[");
    String sep = "";
    for (String name : models.keySet().stream().sorted().toList()) {
      json.append(sep)
          .append("{\"id\":")
          .append(RequestPeek.JSON.getNodeFactory().textNode(name))
          .append(",\"object\":\"model\",\"created\":0,\"owned_by\":\"penstock\"}");
      sep = ",";
    }
    json.append("]}");
    return new PenstockResponse(
        200,
        Map.of("content-type", List.of("application/json")),
        new ByteArrayInputStream(json.toString().getBytes(StandardCharsets.UTF_8)));
  }

  /** The public model names this Penstock serves. */
  public Set<String> models() {
    return models.keySet();
  }

  /** How many calls wait for capacity now. */
  public int queued() {
    return admissions.queued();
  }

  /** How many reservations are held and not yet settled (0 when nothing is in flight). */
  public int outstanding() {
    return admissions.outstanding();
  }

  /** How many reservations were found unsettled when their call ended (0 unless there is a bug). */
  public long leakedReservations() {
    return admissions.leakedReservations();
  }

  /** The settings in force. */
  public Settings settings() {
    return settings;
  }

  /**
   * Refuses the calls still waiting ({@code 503 shutting_down}), aborts those in flight, ends open
   * streams (their readers get an IOException), settles every reservation and stops every thread
   * Penstock started. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    admissions.close(); // refuses the waiters, stops the dispatcher
    inFlight.forEach(cancel -> cancel.cancel("shutting_down"));
    long deadline = System.nanoTime() + CLOSE_WAIT_NANOS;
    while (true) {
      // Again on each turn: a call that was in flight may have handed its stream out since.
      streams.open.forEach(SettlingStream::abandon);
      if ((inFlight.isEmpty() && admissions.outstanding() == 0)
          || System.nanoTime() - deadline >= 0) {
        break;
      }
      LockSupport.parkNanos(1_000_000); // calls in flight are letting go: microseconds each
    }
    for (HttpClient client : clients) {
      client.shutdownNow();
    }
    boolean interrupted = false;
    for (Thread worker : List.copyOf(workers)) {
      try {
        worker.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    for (HttpClient client : clients) {
      try {
        client.awaitTermination(Duration.ofSeconds(1));
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    httpExecutor.close();
    try {
      metrics.close();
    } catch (Exception e) {
      LOG.warn("could not unbind Penstock's metrics", e);
    }
    if (admissions.outstanding() > 0) {
      LOG.warn("{} reservations were still held when Penstock closed", admissions.outstanding());
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Builds a {@link Penstock}: models and deployments, settings, metrics. */
  public static final class Builder {
    private final Map<String, Model> models = new LinkedHashMap<>();
    private Settings settings = Settings.DEFAULT;
    private TokenCounter tokenCounter = TokenCounter.CHARACTERS;
    private @Nullable Object meterRegistry;
    private Function<String, @Nullable String> environment = System::getenv;

    private Builder() {}

    /** Adds a public model with its deployments (a later model of the same name replaces it). */
    public Builder model(Model model) {
      models.put(model.name(), model);
      return this;
    }

    /** Adds a public model served by {@code deployments}. */
    public Builder model(String name, Deployment... deployments) {
      return model(Model.of(name, deployments));
    }

    public Builder settings(Settings value) {
      settings = value;
      return this;
    }

    /** How prompt tokens are counted for the TPM charge; see {@link TokenCounter}. */
    public Builder tokenCounter(TokenCounter value) {
      tokenCounter = value;
      return this;
    }

    /**
     * Registers Penstock's metrics (the gateway's names, where they apply) in the application's
     * Micrometer registry; they are removed when Penstock closes. Needs micrometer-core on the
     * class path (an optional dependency of this library).
     */
    public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
      meterRegistry = registry;
      return this;
    }

    /** Where {@code ${VAR}} in a YAML file is looked up (the process environment by default). */
    public Builder environment(Function<String, @Nullable String> lookup) {
      environment = lookup;
      return this;
    }

    /**
     * Reads the gateway's YAML file: its models and settings replace those set so far.
     *
     * @throws PenstockConfigException naming the field path and line of every problem
     */
    public Builder yaml(Path file) throws IOException {
      YamlConfig config = YamlConfig.load(file, environment);
      models.clear();
      config.models().forEach(this::model);
      settings = config.settings();
      return this;
    }

    public Penstock build() {
      return new Penstock(this);
    }
  }
}
