package dev.penstock.server.pipeline;

import dev.penstock.core.CancelSignal;
import dev.penstock.core.Demand;
import dev.penstock.core.queue.Priority;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.OpenAiRequest;
import dev.penstock.server.telemetry.RequestRecord;
import dev.penstock.server.tenant.VirtualKey;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One proxied request on its way through the {@link Stage}s: what arrived, what the stages learned
 * of it (the parsed request, the caller, the deadline), how it is being served (attempts, queue
 * time, the deployment), and the signal that cancels it when its client leaves.
 *
 * <p>Every answer the client gets — the upstream's or Penstock's own error — carries {@link
 * #answerHeaders}: {@code x-request-id}, {@code x-penstock-attempts}, {@code x-penstock-queue-ms},
 * and {@code x-penstock-deployment} once an attempt was made.
 *
 * <p>Used by the request's own thread; only {@link #cancel()} is shared with the client watcher.
 */
public final class ProxyCall {
  private final String id;
  private final Endpoint endpoint;
  private ClientExchange exchange;
  private final RequestRecord record;
  private final Pipeline.Routing routing;
  private final CancelSignal cancel = new CancelSignal();
  private final long arrivedNanos;
  private @Nullable OpenAiRequest request;
  private Priority priority = Priority.NORMAL;
  private String tenant = "anonymous";
  private long deadlineNanos = Long.MAX_VALUE;
  private int attempts;
  private long queueNanos;
  private @Nullable String deployment;
  private final Map<String, String> upstreamHeaders = new LinkedHashMap<>(4);
  private final Map<String, String> callerHeaders = new LinkedHashMap<>(8);
  private @Nullable VirtualKey key;
  private @Nullable InternalCaller internal;

  ProxyCall(
      String id,
      Endpoint endpoint,
      ClientExchange exchange,
      RequestRecord record,
      Pipeline.Routing routing,
      long arrivedNanos) {
    this.id = id;
    this.arrivedNanos = arrivedNanos;
    this.endpoint = endpoint;
    this.exchange = exchange;
    this.record = record;
    this.routing = routing;
  }

  public String id() {
    return id;
  }

  /** When the request arrived (ticker nanos); its deadline counts from here. */
  public long arrivedNanos() {
    return arrivedNanos;
  }

  public Endpoint endpoint() {
    return endpoint;
  }

  /** The client's side: its headers and body, and where the answer goes. */
  public ClientExchange exchange() {
    return exchange;
  }

  /**
   * Puts {@code wrapper} in front of the client's side for the stages after this one (the cache
   * stage taps the answer it will store). It must delegate everything it does not watch.
   */
  void exchange(ClientExchange wrapper) {
    exchange = wrapper;
  }

  /** What the observers will be told of this request. */
  public RequestRecord record() {
    return record;
  }

  /** The routing table the request started with (a reload does not change it mid-way). */
  public Pipeline.Routing routing() {
    return routing;
  }

  /**
   * Fires when the client leaves or stops reading ({@code client_closed}, {@code client_stalled}),
   * or when a stopping gateway ends what is still running after its grace period ({@link
   * #SHUTTING_DOWN}); whatever blocks for the request lets go.
   */
  public CancelSignal cancel() {
    return cancel;
  }

  /** {@code x-penstock-cache} of an answer the response cache did not look up, nor store. */
  public static final String CACHE_BYPASS = "bypass";

  private String cacheResult = CACHE_BYPASS;
  private double cacheScore = -1;

  /**
   * What the response cache did ({@code hit}, {@code semantic-hit} with its similarity, {@code
   * miss}, {@code bypass}): said in {@code x-penstock-cache} (and {@code x-penstock-cache-score})
   * and recorded.
   */
  void cacheResult(String result, double score) {
    cacheResult = result;
    cacheScore = score;
    record.cache(result, score);
  }

  /** The client's {@code x-penstock-cache} directive: what a response cache may do. */
  public enum CacheDirective {
    /** No header: the default rules (deterministic requests only). */
    DEFAULT,
    /** Neither read nor write. */
    NO_STORE,
    /** Skip the lookup, store the answer. */
    NO_CACHE,
    /** Cache even a non-deterministic request. */
    FORCE
  }

  private CacheDirective cacheDirective = CacheDirective.DEFAULT;

  /** What the client allows a response cache to do; set by the caller stage. */
  public CacheDirective cacheDirective() {
    return cacheDirective;
  }

  void cacheDirective(CacheDirective directive) {
    cacheDirective = directive;
  }

  /** The cancel reason of a gateway ending what still runs after its shutdown grace period. */
  public static final String SHUTTING_DOWN = "shutting_down";

  /** Whether the client left: cancelled for any reason but shutdown (then it is still there). */
  boolean clientLeft() {
    return cancel.cancelled() && !SHUTTING_DOWN.equals(cancel.reason());
  }

  /** Whether a stopping gateway cut the request short; its client is still there. */
  boolean shutDown() {
    return cancel.cancelled() && SHUTTING_DOWN.equals(cancel.reason());
  }

  /** The parsed request; set by the read stage. */
  public OpenAiRequest request() {
    OpenAiRequest r = request;
    if (r == null) {
      throw new IllegalStateException("the request has not been read yet");
    }
    return r;
  }

  void request(OpenAiRequest read) {
    request = read;
  }

  /** The caller of a request Penstock submits itself; null for a client's request. */
  public @Nullable InternalCaller internal() {
    return internal;
  }

  void internal(InternalCaller caller) {
    this.internal = caller;
  }

  /** Who asks and how urgently; set by the caller stage. */
  void caller(String tenant, Priority priority) {
    this.tenant = tenant;
    this.priority = priority;
  }

  /** The virtual key the request was made with; null in open mode. Set by the caller stage. */
  public @Nullable VirtualKey key() {
    return key;
  }

  void key(VirtualKey value) {
    key = value;
  }

  /**
   * A header about the caller's own standing ({@code x-ratelimit-*} of its virtual key), sent on
   * the answer whatever it is, after the upstream's.
   */
  void callerHeader(String name, String value) {
    callerHeaders.put(name, value);
  }

  public String tenant() {
    return tenant;
  }

  public Priority priority() {
    return priority;
  }

  void deadlineNanos(long nanos) {
    deadlineNanos = nanos;
  }

  public long deadlineNanos() {
    return deadlineNanos;
  }

  /** What the scheduler is asked for: the request's model, caller, tokens and deadline. */
  Demand demand() {
    OpenAiRequest r = request();
    return new Demand(
        r.model(), tenant, priority, r.promptTokens(), r.outputTokens(), deadlineNanos);
  }

  /** An attempt starts on {@code name}. */
  void attemptOn(String name) {
    attempts++;
    deployment = name;
    upstreamHeaders.clear(); // a failed attempt's headers (its upstream request id) must not stay
    record.attempt(name);
  }

  public int attempts() {
    return attempts;
  }

  /** Time spent waiting for capacity (backoffs and requeues included). */
  void waited(long nanos) {
    if (nanos > 0) {
      queueNanos += nanos;
      record.addQueueNanos(nanos);
    }
  }

  /** An upstream header the client should see ({@code Content-Type}, {@code openai-*}). */
  void upstreamHeader(String name, String value) {
    upstreamHeaders.put(name, value);
  }

  /** The upstream headers the client is to see (a copy). */
  Map<String, String> upstreamHeaders() {
    return Map.copyOf(upstreamHeaders);
  }

  /**
   * This call was served by a merged call (an embedding batch it was part of): that call's
   * attempts, last deployment, wait for capacity and upstream headers become this call's own, so
   * that its answer's headers, its record and its key's charge tell of them.
   */
  void servedBy(
      int mergedAttempts, String mergedDeployment, long queueNanos, Map<String, String> headers) {
    for (int i = 0; i < mergedAttempts; i++) {
      attemptOn(mergedDeployment);
    }
    waited(queueNanos);
    upstreamHeaders.putAll(headers);
  }

  /** The headers of the answer: Penstock's own, then those relayed from the upstream. */
  Map<String, String> answerHeaders() {
    Map<String, String> headers = new LinkedHashMap<>(8);
    headers.put("x-request-id", id);
    if (deployment != null) {
      headers.put("x-penstock-deployment", deployment);
    }
    headers.put("x-penstock-attempts", Integer.toString(attempts));
    headers.put("x-penstock-queue-ms", Long.toString(queueNanos / 1_000_000));
    headers.put("x-penstock-cache", cacheResult);
    if (cacheScore >= 0) {
      headers.put(
          "x-penstock-cache-score", String.format(java.util.Locale.ROOT, "%.4f", cacheScore));
    }
    headers.putAll(upstreamHeaders);
    headers.putAll(callerHeaders);
    return headers;
  }
}
