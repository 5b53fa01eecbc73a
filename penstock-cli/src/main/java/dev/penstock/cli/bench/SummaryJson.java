package dev.penstock.cli.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/**
 * Renders a {@link BenchResult} as the JSON of {@code penstock bench --json}. Field names are
 * snake_case and stable; scripts may rely on them. Times are in seconds or milliseconds as their
 * names say; rates are per minute.
 *
 * <pre>
 * url, endpoint, model, stream         the target ({@code endpoint}: chat | embeddings | completions | responses)
 * mode                                 "open_loop" or "closed_loop"
 * rate_per_second                      open loop only: the configured rate
 * concurrency                          closed loop only
 * duration_seconds, request_cap        configured sending duration; cap only when set
 * prompt_tokens, max_tokens            configured request shape
 * limit_rpm, limit_tpm                 only when set
 * started_at                           ISO-8601 wall-clock start
 * elapsed_seconds                      start to the last answer
 * sent, dropped, completed, succeeded  request counts; succeeded = 2xx
 * throughput_per_minute                2xx ÷ elapsed × 60
 * offered_per_minute                   (sent + dropped) ÷ sending time × 60
 * tokens_per_minute                    (input + output tokens of 2xx) ÷ elapsed × 60
 * input_tokens, output_tokens          sums from the 2xx answers' usage
 * status_counts                        {"2xx": n, "429": n, "timeout": n, ...}; sums to sent + dropped
 * latency_ms                           {count, p50, p90, p99, max}: 2xx, from due time to last byte
 * ttft_ms                              same shape, streams only: to the first output token
 * queue_ms                             same shape, only when answers carried x-penstock-queue-ms
 * send_lag_ms                          same shape: how late bench sent compared with the schedule
 * deployments                          {"name": n} per x-penstock-deployment, only when present
 * timeline                             [{second, sent, ok, rate_limited, errors, tokens}]
 * </pre>
 */
public final class SummaryJson {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private SummaryJson() {}

  public static String render(BenchResult result) {
    try {
      return JSON.writeValueAsString(tree(result));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a tree of plain values always serialises", e);
    }
  }

  static ObjectNode tree(BenchResult result) {
    ObjectNode root = JSON.createObjectNode();
    configuration(root, result.options());
    root.put("started_at", result.startedAt().toString());
    root.put("elapsed_seconds", result.elapsedSeconds());
    root.put("sent", result.sent());
    root.put("dropped", result.dropped());
    root.put("completed", result.completed());
    root.put("succeeded", result.succeeded());
    root.put("throughput_per_minute", result.throughputPerMinute());
    root.put("offered_per_minute", result.offeredPerMinute());
    root.put("tokens_per_minute", result.tokensPerMinute());
    root.put("input_tokens", result.inputTokens());
    root.put("output_tokens", result.outputTokens());
    counts(root.putObject("status_counts"), result.statusCounts());
    percentiles(root.putObject("latency_ms"), result.latency());
    if (result.options().stream()) {
      percentiles(root.putObject("ttft_ms"), result.ttft());
    }
    if (!result.queue().isEmpty()) {
      percentiles(root.putObject("queue_ms"), result.queue());
    }
    percentiles(root.putObject("send_lag_ms"), result.sendLag());
    if (!result.deployments().isEmpty()) {
      counts(root.putObject("deployments"), result.deployments());
    }
    timeline(root.putArray("timeline"), result);
    return root;
  }

  private static void configuration(ObjectNode root, BenchOptions options) {
    root.put("url", options.baseUrl().toString());
    root.put("endpoint", options.endpoint().label());
    root.put("model", options.model());
    root.put("stream", options.stream());
    switch (options.load()) {
      case LoadMode.OpenLoop open -> {
        root.put("mode", "open_loop");
        root.put("rate_per_second", open.rate().perSecond());
      }
      case LoadMode.ClosedLoop closed -> {
        root.put("mode", "closed_loop");
        root.put("concurrency", closed.concurrency());
      }
    }
    root.put("duration_seconds", options.duration().toMillis() / 1e3);
    if (options.requestCap() != Long.MAX_VALUE) {
      root.put("request_cap", options.requestCap());
    }
    root.put("prompt_tokens", options.promptTokens());
    root.put("max_tokens", options.maxTokens());
    if (options.limitRpm() > 0) {
      root.put("limit_rpm", options.limitRpm());
    }
    if (options.limitTpm() > 0) {
      root.put("limit_tpm", options.limitTpm());
    }
  }

  private static void percentiles(ObjectNode node, Percentiles p) {
    node.put("count", p.count());
    node.put("p50", p.p50Millis());
    node.put("p90", p.p90Millis());
    node.put("p99", p.p99Millis());
    node.put("max", p.maxMillis());
  }

  private static void counts(ObjectNode node, Map<String, Long> counts) {
    counts.forEach(node::put);
  }

  private static void timeline(ArrayNode array, BenchResult result) {
    for (TimelineSecond second : result.timeline()) {
      array
          .addObject()
          .put("second", second.second())
          .put("sent", second.sent())
          .put("ok", second.ok())
          .put("rate_limited", second.rateLimited())
          .put("errors", second.errors())
          .put("tokens", second.tokens());
    }
  }
}
