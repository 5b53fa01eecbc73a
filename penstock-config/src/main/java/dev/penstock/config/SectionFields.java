package dev.penstock.config;

import java.util.HashSet;
import java.util.Set;

/**
 * The field names of a section of the config file, split into those the gateway and the library
 * both read and those only the gateway reads. The gateway knows {@link #all()}; the library knows
 * {@link #shared()} and skips {@link #gatewayOnly()} with a warning, so that one file serves both.
 *
 * @param shared fields both read
 * @param gatewayOnly fields only the gateway reads
 */
public record SectionFields(Set<String> shared, Set<String> gatewayOnly) {
  /** The top level. */
  public static final SectionFields TOP =
      new SectionFields(
          Set.of("defaults", "models", "retry", "circuit_breaker"),
          Set.of(
              "listen",
              "admin_key",
              "metrics",
              "logging",
              "auth",
              "storage",
              "pricing",
              "tenants",
              "cache",
              "embeddings",
              "batches",
              "queues",
              "cluster",
              "upstream"));

  /** {@code defaults:}; the gateway-only ones configure its HTTP server. */
  public static final SectionFields DEFAULTS =
      new SectionFields(
          Set.of(
              "timeout_ms",
              "max_output_tokens",
              "max_queue",
              "pacing_guard_ms",
              "connect_timeout_ms",
              "first_byte_timeout_ms"),
          Set.of(
              "read_timeout_ms",
              "max_body_bytes",
              "shutdown_grace_ms",
              "client_write_timeout_ms",
              "max_answer_bytes",
              "request_head_timeout_ms",
              "request_body_timeout_ms",
              "keepalive_timeout_ms",
              "max_connections"));

  /** {@code models.<name>:}. */
  public static final SectionFields MODEL =
      new SectionFields(
          Set.of("fallbacks", "deployments"),
          Set.of("canary", "cache", "embeddings_batch_window_ms"));

  /** {@code models.<name>.deployments[i]:}. */
  public static final SectionFields DEPLOYMENT =
      new SectionFields(
          Set.of(
              "name",
              "provider",
              "base_url",
              "api_key",
              "upstream_model",
              "rpm",
              "tpm",
              "max_concurrency",
              "priority",
              "weight",
              "tpm_charge",
              "api_version",
              "connect_timeout_ms",
              "first_byte_timeout_ms"),
          Set.of("read_timeout_ms", "health_check_interval_ms"));

  /** {@code retry:}. */
  public static final SectionFields RETRY =
      new SectionFields(
          Set.of("attempts", "backoff_base_ms", "backoff_cap_ms", "on_timeout"), Set.of());

  public SectionFields {
    shared = Set.copyOf(shared);
    gatewayOnly = Set.copyOf(gatewayOnly);
  }

  /** Every field of the section: what the gateway knows. */
  public Set<String> all() {
    Set<String> all = new HashSet<>(shared);
    all.addAll(gatewayOnly);
    return Set.copyOf(all);
  }
}
