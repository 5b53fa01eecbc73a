package dev.penstock.cli.bench;

import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The outcome of a bench run: what was configured, what was sent, how it ended and how long it
 * took. Latency is measured from each request's due time (see {@link BenchRun}); latency and TTFT
 * percentiles cover the 2xx requests only, since a fast 429 says nothing about service time.
 *
 * <p>Render it with {@link SummaryText}, {@link SummaryJson} or {@link HtmlReport}.
 *
 * @param options the run's configuration
 * @param startedAt wall-clock time of the start, for the report
 * @param elapsedNanos from the start to the last request's end (or the end of sending, if later)
 * @param sendWindowNanos from the start until sending stopped
 * @param sent requests sent
 * @param dropped open-loop requests due but not sent because of {@code --max-inflight}
 * @param statusCounts requests per outcome label, 2xx first; sums to {@code sent + dropped}
 * @param inputTokens prompt tokens reported by the 2xx answers
 * @param outputTokens completion tokens reported by the 2xx answers
 * @param latency from due time to last byte, 2xx only
 * @param ttft from due time to first output token, 2xx streams only
 * @param queue the gateway's {@code x-penstock-queue-ms}, over all answers carrying it
 * @param sendLag how late requests left compared with their due time; shows whether bench itself
 *     kept up
 * @param latencyCurve latency by percentile, for the chart
 * @param ttftCurve TTFT by percentile, for the chart
 * @param deployments answers per {@code x-penstock-deployment} value
 * @param timeline per-second counts
 */
public record BenchResult(
    BenchOptions options,
    Instant startedAt,
    long elapsedNanos,
    long sendWindowNanos,
    long sent,
    long dropped,
    SortedMap<String, Long> statusCounts,
    long inputTokens,
    long outputTokens,
    Percentiles latency,
    Percentiles ttft,
    Percentiles queue,
    Percentiles sendLag,
    List<PercentilePoint> latencyCurve,
    List<PercentilePoint> ttftCurve,
    SortedMap<String, Long> deployments,
    List<TimelineSecond> timeline) {

  public BenchResult {
    statusCounts = sortedCopy(statusCounts);
    deployments = sortedCopy(deployments);
    latencyCurve = List.copyOf(latencyCurve);
    ttftCurve = List.copyOf(ttftCurve);
    timeline = List.copyOf(timeline);
  }

  private static SortedMap<String, Long> sortedCopy(Map<String, Long> counts) {
    TreeMap<String, Long> sorted = new TreeMap<>(Outcome.LABEL_ORDER);
    sorted.putAll(counts);
    return Collections.unmodifiableSortedMap(sorted);
  }

  /** Sent requests that ended, whatever the outcome; equals {@link #sent()} after a run. */
  public long completed() {
    return statusCounts.values().stream().mapToLong(Long::longValue).sum() - dropped;
  }

  public long succeeded() {
    return statusCounts.getOrDefault(Outcome.OK.label(), 0L);
  }

  public double elapsedSeconds() {
    return elapsedNanos / 1e9;
  }

  /** 2xx completions per minute over the whole run: successes ÷ elapsed × 60. */
  public double throughputPerMinute() {
    return perMinute(succeeded(), elapsedNanos);
  }

  /** Input plus output tokens of 2xx answers per minute over the whole run. */
  public double tokensPerMinute() {
    return perMinute(inputTokens + outputTokens, elapsedNanos);
  }

  /** Requests offered (sent or dropped) per minute while sending. */
  public double offeredPerMinute() {
    return perMinute(sent + dropped, sendWindowNanos);
  }

  private static double perMinute(long count, long nanos) {
    return nanos <= 0 ? 0 : count * 60e9 / nanos;
  }
}
