package dev.penstock.server.telemetry;

import org.jspecify.annotations.Nullable;

/**
 * What happened to one request, filled in by the pipeline as the request goes and handed to the
 * {@link RequestObserver}s when it ends: who asked for what, where it went, how it ended, what it
 * used and where its time went.
 *
 * <p>Times are {@code Ticker} nanos. The request's time splits into queue wait (waiting for
 * capacity, backoffs included), upstream time (from sending an attempt until its answer was read or
 * relayed) and the rest, which is the gateway's own overhead.
 *
 * <p>Not thread-safe: written by the request's own thread only, and read by observers after {@link
 * #end} on that same thread.
 */
public final class RequestRecord {
  private final String requestId;
  private final String endpoint;
  private final long startNanos;
  private final long startWallMillis;
  private String model = "";
  private String tenant = "";
  private String priority = "normal";
  private boolean stream;
  private String deployment = "";
  private int attempts;
  private int status;
  private @Nullable Outcome outcome;
  private @Nullable String errorCode;
  private @Nullable String errorMessage;
  private @Nullable String rejectedReason;
  private long promptTokens = -1;
  private long completionTokens = -1;
  private long cachedTokens;
  private String keyId = "";
  private String keyName = "";
  private double costUsd;
  private boolean priced = true;
  private long queueNanos;
  private long upstreamNanos;
  private long firstByteNanos = -1;
  private long endNanos = -1;
  private byte @Nullable [] body;
  private String cache = "bypass";
  private double cacheScore = -1;
  private long savedTokens;
  private double savedUsd;

  public RequestRecord(String requestId, String endpoint, long startNanos, long startWallMillis) {
    this.requestId = requestId;
    this.endpoint = endpoint;
    this.startNanos = startNanos;
    this.startWallMillis = startWallMillis;
  }

  // ---- filled in by the pipeline

  /** The request names a model this gateway serves (unknown names are never recorded). */
  public void request(String model, boolean stream) {
    this.model = model;
    this.stream = stream;
  }

  /** Who asked, and how urgently. */
  public void caller(String tenant, String priority) {
    this.tenant = tenant;
    this.priority = priority;
  }

  /** The virtual key the request was made with (not called in open mode). */
  public void key(String id, String name) {
    this.keyId = id;
    this.keyName = name;
  }

  /**
   * What the request cost, from the pricing table and its real usage; {@code priced} is false when
   * the table has no price for its model (then it cost 0).
   */
  public void cost(double usd, boolean priced) {
    this.costUsd = usd;
    this.priced = priced;
  }

  /** An attempt starts on {@code deployment}. */
  public void attempt(String deployment) {
    this.deployment = deployment;
    this.attempts++;
  }

  public void addQueueNanos(long nanos) {
    queueNanos += Math.max(0, nanos);
  }

  public void addUpstreamNanos(long nanos) {
    upstreamNanos += Math.max(0, nanos);
  }

  /** The real usage the upstream reported; a negative value is unknown. */
  public void usage(long promptTokens, long completionTokens) {
    usage(promptTokens, completionTokens, 0);
  }

  /**
   * The real usage the upstream reported, with the prompt tokens it served from its prompt cache
   * (part of {@code promptTokens}, billed cheaper); a negative count is unknown.
   */
  public void usage(long promptTokens, long completionTokens, long cachedTokens) {
    this.promptTokens = promptTokens;
    this.completionTokens = completionTokens;
    this.cachedTokens = cachedTokens;
  }

  /** The first byte of the answer goes to the client now (once; later calls are ignored). */
  public void answered(int status, long nowNanos) {
    if (firstByteNanos < 0) {
      this.status = status;
      this.firstByteNanos = nowNanos - startNanos;
    }
  }

  /** The request failed with Penstock's or the upstream's error. */
  public void failed(Outcome outcome, @Nullable String code, @Nullable String message) {
    this.outcome = outcome;
    this.errorCode = code;
    this.errorMessage = message;
  }

  /** Penstock refused it for capacity ({@code deadline}, {@code queue_full}, ...). */
  public void rejected(String reason) {
    this.rejectedReason = reason;
  }

  /**
   * What the response cache did: {@code hit}, {@code semantic-hit} (with the similarity {@code
   * score}), {@code miss} or {@code bypass}.
   */
  public void cache(String result, double score) {
    this.cache = result;
    this.cacheScore = score;
  }

  /** What a cache hit saved: the tokens the cached answer used, and their price. */
  public void saved(long tokens, double usd) {
    this.savedTokens = tokens;
    this.savedUsd = usd;
  }

  /** The client's request body, kept only when {@code logging.log_bodies} is on. */
  public void body(byte[] body) {
    this.body = body;
  }

  public void end(long nowNanos) {
    if (endNanos < 0) {
      endNanos = nowNanos;
    }
  }

  // ---- read by observers

  /** {@code hit}, {@code semantic-hit}, {@code miss} or {@code bypass}. */
  public String cache() {
    return cache;
  }

  /** A semantic hit's similarity, else -1. */
  public double cacheScore() {
    return cacheScore;
  }

  /** Tokens a cache hit saved (the cached answer's usage); 0 otherwise. */
  public long savedTokens() {
    return savedTokens;
  }

  /** What a cache hit saved, in USD, at the pricing table's prices; 0 otherwise. */
  public double savedUsd() {
    return savedUsd;
  }

  /** The virtual key's id, or {@code ""} in open mode. */
  public String keyId() {
    return keyId;
  }

  /** The virtual key's name, or {@code ""} in open mode. */
  public String keyName() {
    return keyName;
  }

  public double costUsd() {
    return costUsd;
  }

  /** False when the pricing table had no price for the request's model. */
  public boolean priced() {
    return priced;
  }

  public String requestId() {
    return requestId;
  }

  public String endpoint() {
    return endpoint;
  }

  public long startWallMillis() {
    return startWallMillis;
  }

  /** The public model, or "" when the request never named one this gateway serves. */
  public String model() {
    return model;
  }

  public String tenant() {
    return tenant;
  }

  public String priority() {
    return priority;
  }

  public boolean stream() {
    return stream;
  }

  /** The deployment of the last attempt, or "" when none was made. */
  public String deployment() {
    return deployment;
  }

  public int attempts() {
    return attempts;
  }

  /** The status the client got; 0 when nothing was sent (the client left first). */
  public int status() {
    return status;
  }

  public Outcome outcome() {
    return outcome != null ? outcome : Outcome.ofStatus(status);
  }

  public @Nullable String errorCode() {
    return errorCode;
  }

  public @Nullable String errorMessage() {
    return errorMessage;
  }

  public @Nullable String rejectedReason() {
    return rejectedReason;
  }

  public long promptTokens() {
    return promptTokens;
  }

  public long completionTokens() {
    return completionTokens;
  }

  /** Of the prompt tokens, those served from the provider's prompt cache; 0 when not reported. */
  public long cachedTokens() {
    return cachedTokens;
  }

  public long queueNanos() {
    return queueNanos;
  }

  public long upstreamNanos() {
    return upstreamNanos;
  }

  /** From arrival until the answer's first byte went out; -1 when none did. */
  public long firstByteNanos() {
    return firstByteNanos;
  }

  public long totalNanos() {
    return Math.max(0, endNanos - startNanos);
  }

  /** Time spent in Penstock itself: the total less queue wait and upstream time. */
  public long overheadNanos() {
    return Math.max(0, totalNanos() - queueNanos - upstreamNanos);
  }

  public byte @Nullable [] body() {
    return body;
  }

  /** Whether this request counts as an error on the dashboard (not a client mistake). */
  public boolean isError() {
    Outcome o = outcome();
    return o == Outcome.UPSTREAM_ERROR || o == Outcome.OVERLOADED;
  }
}
