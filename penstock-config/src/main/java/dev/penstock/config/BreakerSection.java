package dev.penstock.config;

import dev.penstock.core.health.BreakerPolicy;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.Node;

/**
 * The {@code circuit_breaker:} section, read the same way by the gateway and the library into
 * core's {@link BreakerPolicy} ({@link #policy}). Times are in milliseconds, as in the file.
 *
 * @param consecutiveFailures failures in a row that open the breaker
 * @param errorRate the share of failed requests in the window that opens it (0 = off)
 * @param minRequests requests in the window before the error rate counts
 * @param windowMillis the error rate's window
 * @param openMillis how long the breaker stays open the first time
 * @param maxOpenMillis the longest it stays open as openings repeat
 */
public record BreakerSection(
    int consecutiveFailures,
    double errorRate,
    int minRequests,
    long windowMillis,
    long openMillis,
    long maxOpenMillis) {
  private static final String PREFIX = "circuit_breaker.";
  private static final Set<String> KNOWN =
      Set.of(
          "consecutive_failures",
          "error_rate",
          "min_requests",
          "window_ms",
          "open_ms",
          "max_open_ms");

  private static final long MILLI = 1_000_000L;

  /**
   * The policy the section at {@code node} describes; a field that is absent or invalid (reported
   * to {@code reader}) keeps core's default ({@link BreakerPolicy#DEFAULT}).
   */
  public static BreakerPolicy policy(YamlReader reader, Node node) {
    return read(reader, node, of(BreakerPolicy.DEFAULT)).toPolicy();
  }

  /** The values of {@code policy}, in the file's units. */
  public static BreakerSection of(BreakerPolicy policy) {
    return new BreakerSection(
        policy.consecutiveFailures(),
        policy.errorRate(),
        policy.minRequests(),
        policy.windowNanos() / MILLI,
        policy.openNanos() / MILLI,
        policy.maxOpenNanos() / MILLI);
  }

  /** Core's policy with these values. */
  public BreakerPolicy toPolicy() {
    return new BreakerPolicy(
        consecutiveFailures,
        errorRate,
        minRequests,
        windowMillis * MILLI,
        openMillis * MILLI,
        maxOpenMillis * MILLI);
  }

  /**
   * Reads the section at {@code node}; a field that is absent or invalid (reported to {@code
   * reader}) keeps its value from {@code defaults}.
   */
  public static BreakerSection read(YamlReader reader, Node node, BreakerSection defaults) {
    Map<String, Node> f = reader.fields(node, PREFIX, KNOWN);
    if (f == null) {
      return defaults;
    }
    BreakerSection d = defaults;
    double errorRate =
        reader.decimal(
            f,
            "error_rate",
            PREFIX,
            d.errorRate(),
            rate -> rate >= 0 && rate <= 1,
            "must be a number from 0 to 1 (0 = off)");
    long openMillis = reader.number(f, "open_ms", PREFIX, d.openMillis(), 1, 3_600_000);
    long maxOpenMillis =
        reader.atLeast(
            node,
            PREFIX + "max_open_ms",
            reader.number(f, "max_open_ms", PREFIX, d.maxOpenMillis(), 1, 86_400_000),
            "open_ms",
            openMillis);
    return new BreakerSection(
        (int)
            reader.number(f, "consecutive_failures", PREFIX, d.consecutiveFailures(), 1, 1_000_000),
        errorRate,
        (int) reader.number(f, "min_requests", PREFIX, d.minRequests(), 1, 1_000_000),
        reader.number(f, "window_ms", PREFIX, d.windowMillis(), 1_000, 3_600_000),
        openMillis,
        maxOpenMillis);
  }
}
