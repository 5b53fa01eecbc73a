package dev.penstock.cli.bench;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Collects everything a run measures. Called from every request thread at once; all state is
 * lock-free (adders, concurrent maps, {@link ConcurrentHistogram}), so recording never makes one
 * request wait for another. Histograms are read only by {@link #result}, after the run.
 */
final class BenchRecorder {
  /** More distinct deployment names than this are lumped together; a header is not a key space. */
  static final int MAX_DEPLOYMENTS = 1_000;

  static final String OTHER_DEPLOYMENTS = "(other)";

  private final long startNanos;
  private final LongAdder sent = new LongAdder();
  private final LongAdder dropped = new LongAdder();
  private final LongAdder completed = new LongAdder();
  private final LongAdder inputTokens = new LongAdder();
  private final LongAdder outputTokens = new LongAdder();
  private final ConcurrentHashMap<String, LongAdder> outcomes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, LongAdder> deployments = new ConcurrentHashMap<>();
  // Microseconds; 3 significant digits; auto-resizing, since queueing has no useful upper bound.
  private final Histogram latencyMicros = new ConcurrentHistogram(3);
  private final Histogram ttftMicros = new ConcurrentHistogram(3);
  private final Histogram queueMicros = new ConcurrentHistogram(3);
  private final Histogram sendLagMicros = new ConcurrentHistogram(3);
  private final Timeline timeline;
  private final AtomicLong lastEndNanos;

  /**
   * @param seconds how many per-second buckets to keep: the longest the run can last
   */
  BenchRecorder(long startNanos, int seconds) {
    this.startNanos = startNanos;
    this.timeline = new Timeline(startNanos, seconds);
    this.lastEndNanos = new AtomicLong(startNanos);
  }

  /** Request due at {@code dueNanos} left at {@code sentNanos}. */
  void sent(long dueNanos, long sentNanos) {
    sent.increment();
    sendLagMicros.recordValue(micros(sentNanos - dueNanos));
    timeline.sent(dueNanos);
  }

  /** Request due at {@code dueNanos} was not sent: too many in flight. */
  void dropped(long dueNanos) {
    dropped.increment();
    count(outcomes, Outcome.DROPPED.label());
    timeline.sent(dueNanos);
    timeline.completed(dueNanos, Outcome.Kind.ERROR, 0);
  }

  /** A sent request, due at {@code dueNanos}, ended as {@code completion} says. */
  void completed(long dueNanos, Completion completion) {
    Outcome outcome = completion.outcome();
    completed.increment();
    count(outcomes, outcome.label());
    long tokens = 0;
    if (outcome.kind() == Outcome.Kind.OK) {
      latencyMicros.recordValue(micros(completion.endNanos() - dueNanos));
      if (completion.firstTokenNanos() != Completion.NONE) {
        ttftMicros.recordValue(micros(completion.firstTokenNanos() - dueNanos));
      }
      inputTokens.add(completion.inputTokens());
      outputTokens.add(completion.outputTokens());
      tokens = completion.inputTokens() + completion.outputTokens();
    }
    if (completion.queueMicros() != Completion.NONE) {
      queueMicros.recordValue(completion.queueMicros());
    }
    if (!completion.deployment().isEmpty()) {
      String name = completion.deployment();
      boolean known = deployments.containsKey(name) || deployments.size() < MAX_DEPLOYMENTS;
      count(deployments, known ? name : OTHER_DEPLOYMENTS);
    }
    timeline.completed(completion.endNanos(), outcome.kind(), tokens);
    lastEndNanos.accumulateAndGet(completion.endNanos(), Math::max);
  }

  ProgressSnapshot snapshot(long nowNanos, BenchOptions options, int inFlight, boolean draining) {
    return new ProgressSnapshot(
        nowNanos - startNanos,
        options.duration().toNanos(),
        options.requestCap(),
        sent.sum(),
        dropped.sum(),
        completed.sum(),
        inFlight,
        draining,
        sums(outcomes));
  }

  /**
   * The result, once no request is in flight.
   *
   * @param sendEndNanos when sending stopped
   */
  BenchResult result(BenchOptions options, Instant startedAt, long sendEndNanos) {
    long endNanos = Math.max(sendEndNanos, lastEndNanos.get());
    return new BenchResult(
        options,
        startedAt,
        endNanos - startNanos,
        sendEndNanos - startNanos,
        sent.sum(),
        dropped.sum(),
        new TreeMap<>(sums(outcomes)),
        inputTokens.sum(),
        outputTokens.sum(),
        Percentiles.ofMicros(latencyMicros),
        Percentiles.ofMicros(ttftMicros),
        Percentiles.ofMicros(queueMicros),
        Percentiles.ofMicros(sendLagMicros),
        PercentilePoint.curveOfMicros(latencyMicros),
        PercentilePoint.curveOfMicros(ttftMicros),
        new TreeMap<>(sums(deployments)),
        timeline.seconds(endNanos));
  }

  private static void count(ConcurrentHashMap<String, LongAdder> counts, String key) {
    counts.computeIfAbsent(key, k -> new LongAdder()).increment();
  }

  private static Map<String, Long> sums(Map<String, LongAdder> counts) {
    Map<String, Long> sums = new HashMap<>();
    counts.forEach((key, adder) -> sums.put(key, adder.sum()));
    return sums;
  }

  private static long micros(long nanos) {
    // A clock step cannot make a latency negative, and HdrHistogram rejects negative values.
    return Math.max(0, nanos / 1_000);
  }
}
