package dev.penstock.server.deploy;

import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The penstock_ metric names of the /metrics contract, spelled as a Prometheus scrape exposes them;
 * the monitoring assets in deploy/ may use no others.
 *
 * <p>{@link #EXPOSED} is the set to check a real scrape against. Micrometer's Prometheus registry
 * also exposes a {@code <histogram>_max} gauge for each histogram; the contract does not list it,
 * so it is not here and no dashboard or alert may rely on it.
 */
public final class MetricNames {
  /** Counters, with the {@code _total} suffix Prometheus adds. */
  public static final Set<String> COUNTERS =
      Set.of(
          "penstock_requests_total",
          "penstock_tokens_total",
          "penstock_upstream_rate_limited_total",
          "penstock_retries_total",
          "penstock_rejected_total",
          "penstock_reservations_leaked_total",
          "penstock_cost_usd_total",
          "penstock_unpriced_requests_total",
          "penstock_key_requests_total",
          "penstock_key_cost_usd_total",
          "penstock_ledger_rows_written_total",
          "penstock_cache_requests_total",
          "penstock_cache_saved_tokens_total",
          "penstock_cache_saved_usd_total",
          "penstock_cache_redis_errors_total",
          "penstock_embedding_batches_total",
          "penstock_embedding_batched_requests_total",
          "penstock_queue_messages_total",
          "penstock_batch_lines_total");

  /** Histogram base names; each is exposed as {@code _bucket}, {@code _sum} and {@code _count}. */
  public static final Set<String> HISTOGRAMS =
      Set.of(
          "penstock_request_duration_seconds",
          "penstock_time_to_first_token_seconds",
          "penstock_queue_wait_seconds",
          "penstock_gateway_overhead_seconds");

  /** Gauges, per deployment and for the queue. */
  public static final Set<String> GAUGES =
      Set.of(
          "penstock_deployment_rpm_limit",
          "penstock_deployment_tpm_limit",
          "penstock_deployment_requests_in_window",
          "penstock_deployment_tokens_in_window",
          "penstock_deployment_utilization_ratio",
          "penstock_deployment_circuit_state",
          "penstock_deployment_enabled",
          "penstock_deployment_in_flight",
          "penstock_deployment_cooldown_seconds",
          "penstock_deployment_upstream_remaining_requests",
          "penstock_deployment_upstream_remaining_tokens",
          "penstock_queue_depth",
          "penstock_ledger_rows_pending",
          "penstock_cache_entries",
          "penstock_cache_bytes",
          "penstock_batches",
          "penstock_batch_lines_pending");

  /** Every name a scrape may carry: counters, gauges and the three series of each histogram. */
  public static final Set<String> EXPOSED =
      Stream.of(
              COUNTERS.stream(),
              GAUGES.stream(),
              HISTOGRAMS.stream()
                  .flatMap(name -> Stream.of(name + "_bucket", name + "_sum", name + "_count")))
          .flatMap(names -> names)
          .collect(Collectors.toUnmodifiableSet());

  private MetricNames() {}
}
