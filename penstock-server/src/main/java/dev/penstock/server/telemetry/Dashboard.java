package dev.penstock.server.telemetry;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/*
 * Design
 *
 * The live dashboard (/ui) shows the last five minutes second by second, so the gateway keeps them:
 * a ring of 300 one-second buckets indexed by epoch second modulo 300. A bucket whose second has
 * passed out of the window is reset when a request of a new second lands in it, and is skipped (read
 * as zeros) when the state is read. Each bucket counts requests, errors and tokens, sums latency, and
 * keeps two small log-scale histograms (latency and queue wait; 64 buckets growing by 25% from 1 ms
 * up to about 20 minutes) for the p95s: accurate to within one bucket, a quarter, which is plenty for
 * a chart. Queue depth is sampled whenever the state is read (the page polls every second).
 *
 * One lock guards everything here; a request holds it for a few dozen nanoseconds to add itself.
 */

/**
 * The live dashboard's memory: recent history second by second, totals, per-deployment counts and
 * the last 50 errors; {@link #state} renders it with the pool's current state as the JSON the
 * {@code /ui} page polls (docs/operations.md has its shape).
 *
 * <p>Thread-safe; {@link #completed} is called by every request's thread.
 */
public final class Dashboard implements RequestObserver {
  static final int SECONDS = 300;
  static final int MAX_ERRORS = 50;
  private static final int BUCKETS = 64;
  private static final double GROWTH = 1.25;
  private static final double LOG_GROWTH = Math.log(GROWTH);

  private final LongSupplier wallMillis;
  private final Supplier<PoolSnapshot> pool;
  private final UnaryOperator<String> redact;
  private final long startMillis;
  private final String version;

  private final ReentrantLock lock = new ReentrantLock();
  // Guarded by lock:
  private final Second[] ring = new Second[SECONDS];
  private final ArrayDeque<ObjectNode> errors = new ArrayDeque<>();
  private final Map<String, long[]> perDeployment = new HashMap<>();
  private final Map<String, long[]> perKey = new HashMap<>();
  private long requests;
  private long errorCount;
  private long tokensIn;
  private long tokensOut;
  private long upstream429;
  private long retries;
  private long rejected;

  /** One second of history. */
  private static final class Second {
    long epochSecond = Long.MIN_VALUE;
    long requests;
    long errors;
    long tokens;
    long latencySumNanos;
    int queueDepth;
    final int[] latency = new int[BUCKETS];
    final int[] queueWait = new int[BUCKETS];

    void reset(long second) {
      epochSecond = second;
      requests = 0;
      errors = 0;
      tokens = 0;
      latencySumNanos = 0;
      queueDepth = 0;
      java.util.Arrays.fill(latency, 0);
      java.util.Arrays.fill(queueWait, 0);
    }
  }

  /**
   * @param redact removes secrets from messages shown in the recent-errors table
   */
  public Dashboard(
      LongSupplier wallMillis,
      Supplier<PoolSnapshot> pool,
      UnaryOperator<String> redact,
      String version) {
    this.wallMillis = wallMillis;
    this.pool = pool;
    this.redact = redact;
    this.startMillis = wallMillis.getAsLong();
    this.version = version;
    for (int i = 0; i < SECONDS; i++) {
      ring[i] = new Second();
    }
  }

  @Override
  public void retried(String deployment, RetryReason reason) {
    lock.lock();
    try {
      retries++;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void upstreamRateLimited(String deployment) {
    lock.lock();
    try {
      upstream429++;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void completed(RequestRecord r) {
    long tokens = Math.max(0, r.promptTokens()) + Math.max(0, r.completionTokens());
    boolean error = r.isError();
    int latencyBucket = bucket(r.totalNanos());
    int queueBucket = bucket(r.queueNanos());
    @Nullable ObjectNode errorRow = r.outcome() == Outcome.OK ? null : errorRow(r);
    long second = Math.floorDiv(wallMillis.getAsLong(), 1000);
    lock.lock();
    try {
      Second s = current(second);
      s.requests++;
      s.tokens += tokens;
      s.latencySumNanos += r.totalNanos();
      s.latency[latencyBucket]++;
      s.queueWait[queueBucket]++;
      requests++;
      tokensIn += Math.max(0, r.promptTokens());
      tokensOut += Math.max(0, r.completionTokens());
      if (error) {
        s.errors++;
        errorCount++;
      }
      if (r.rejectedReason() != null) {
        rejected++;
      }
      if (!r.keyId().isEmpty() && (perKey.containsKey(r.keyId()) || perKey.size() < MAX_KEYS)) {
        long[] counts = perKey.computeIfAbsent(r.keyId(), k -> new long[2]);
        counts[0]++;
        counts[1] += r.status() == 429 ? 1 : 0;
      }
      if (!r.deployment().isEmpty()) {
        long[] counts = perDeployment.computeIfAbsent(r.deployment(), d -> new long[2]);
        counts[0]++;
        counts[1] += error ? 1 : 0;
      }
      if (errorRow != null) {
        errors.addFirst(errorRow);
        if (errors.size() > MAX_ERRORS) {
          errors.removeLast();
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /** The most virtual keys counted per key (requests and 429s since start). */
  static final int MAX_KEYS = 10_000;

  /**
   * Requests and {@code 429}s per virtual key id since the gateway started (for the dashboard's key
   * table): {@code [requests, 429s]}.
   */
  public Map<String, long[]> perKey() {
    lock.lock();
    try {
      Map<String, long[]> copy = new HashMap<>();
      perKey.forEach((k, v) -> copy.put(k, v.clone()));
      return copy;
    } finally {
      lock.unlock();
    }
  }

  /** The dashboard's data now: pool state, totals, the last five minutes and recent errors. */
  public ObjectNode state() {
    PoolSnapshot snapshot = pool.get();
    long now = wallMillis.getAsLong();
    long second = Math.floorDiv(now, 1000);
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put("time_ms", now);
    root.put("uptime_s", Math.max(0, (now - startMillis) / 1000));
    root.put("version", version);
    lock.lock();
    try {
      Second s = current(second);
      s.queueDepth = Math.max(s.queueDepth, snapshot.queued());
      deployments(root.putArray("deployments"), snapshot);
      ObjectNode queue = root.putObject("queue");
      ObjectNode depth = queue.putObject("depth");
      snapshot.queueByPriority().forEach(depth::put);
      queue.put("wait_p95_ms", round(lastMinuteQueueP95Millis(second)));
      totals(root.putObject("totals"));
      series(root.putArray("series"), second);
      ArrayNode recent = root.putArray("recent_errors");
      errors.forEach(recent::add);
    } finally {
      lock.unlock();
    }
    return root;
  }

  // ---- the parts of state(); called with the lock held

  private void deployments(ArrayNode out, PoolSnapshot snapshot) {
    for (PoolSnapshot.Deployment d : snapshot.deployments()) {
      ObjectNode row = out.addObject();
      row.put("name", d.name());
      row.put("model", d.model());
      row.put("state", d.state());
      row.put("circuit", d.circuit());
      row.put("rpm_limit", d.rpmLimit());
      row.put("rpm_used", d.requestsInWindow());
      row.put("tpm_limit", d.tpmLimit());
      row.put("tpm_used", d.tokensInWindow());
      row.put("in_flight", d.inFlight());
      row.put("cooldown_ms", d.cooldownNanos() / 1_000_000);
      long[] counts = perDeployment.getOrDefault(d.name(), new long[2]);
      row.put("requests_total", counts[0]);
      row.put("errors_total", counts[1]);
    }
  }

  private void totals(ObjectNode totals) {
    totals.put("requests", requests);
    totals.put("errors", errorCount);
    totals.put("error_rate", requests == 0 ? 0 : round4((double) errorCount / requests));
    totals.put("tokens_in", tokensIn);
    totals.put("tokens_out", tokensOut);
    totals.put("upstream_429", upstream429);
    totals.put("retries", retries);
    totals.put("rejected", rejected);
  }

  /** The seconds since the gateway started, the last five minutes at most. */
  private void series(ArrayNode out, long nowSecond) {
    long first = Math.max(nowSecond - SECONDS + 1, Math.floorDiv(startMillis, 1000));
    for (long t = first; t <= nowSecond; t++) {
      Second s = ring[index(t)];
      boolean live = s.epochSecond == t;
      ObjectNode sample = out.addObject();
      sample.put("t", t);
      sample.put("requests", live ? s.requests : 0);
      sample.put("errors", live ? s.errors : 0);
      sample.put("tokens", live ? s.tokens : 0);
      sample.put(
          "latency_mean_ms",
          live && s.requests > 0 ? round(s.latencySumNanos / 1e6 / s.requests) : 0);
      sample.put("latency_p95_ms", live ? round(p95Millis(s.latency)) : 0);
      sample.put("queue_wait_p95_ms", live ? round(p95Millis(s.queueWait)) : 0);
      sample.put("queue_depth", live ? s.queueDepth : 0);
    }
  }

  private double lastMinuteQueueP95Millis(long nowSecond) {
    int[] merged = new int[BUCKETS];
    for (long t = nowSecond - 59; t <= nowSecond; t++) {
      Second s = ring[index(t)];
      if (s.epochSecond == t) {
        for (int i = 0; i < BUCKETS; i++) {
          merged[i] += s.queueWait[i];
        }
      }
    }
    return p95Millis(merged);
  }

  /** The bucket of {@code second}, reset first if it still holds an older second. */
  private Second current(long second) {
    Second s = ring[index(second)];
    if (s.epochSecond != second) {
      s.reset(second);
    }
    return s;
  }

  private ObjectNode errorRow(RequestRecord r) {
    ObjectNode row = JsonNodeFactory.instance.objectNode();
    row.put("time_ms", r.startWallMillis());
    row.put("request_id", r.requestId());
    row.put("model", r.model());
    row.put("deployment", r.deployment());
    row.put("status", r.status());
    row.put("outcome", r.outcome().label());
    row.put("code", r.errorCode());
    String message = r.errorMessage();
    row.put("message", message == null ? null : redact.apply(message));
    return row;
  }

  private static int index(long second) {
    return (int) Math.floorMod(second, (long) SECONDS);
  }

  /** The histogram bucket of a duration: 0 holds up to 1 ms, bucket i up to 1.25^i ms. */
  static int bucket(long nanos) {
    double millis = nanos / 1e6;
    if (millis <= 1) {
      return 0;
    }
    return Math.min(BUCKETS - 1, (int) Math.ceil(Math.log(millis) / LOG_GROWTH));
  }

  /**
   * The 95th percentile, as its bucket's upper bound in milliseconds; 0 for no data, and for a
   * percentile in the first bucket (under 1 ms: no wait to speak of).
   */
  static double p95Millis(int[] histogram) {
    long total = 0;
    for (int n : histogram) {
      total += n;
    }
    if (total == 0) {
      return 0;
    }
    long rank = (long) Math.ceil(total * 0.95);
    long seen = 0;
    for (int i = 0; i < histogram.length; i++) {
      seen += histogram[i];
      if (seen >= rank) {
        return i == 0 ? 0 : Math.pow(GROWTH, i);
      }
    }
    return Math.pow(GROWTH, histogram.length - 1);
  }

  private static double round(double value) {
    return Math.round(value * 10) / 10.0;
  }

  private static double round4(double value) {
    return Math.round(value * 10_000) / 10_000.0;
  }
}
