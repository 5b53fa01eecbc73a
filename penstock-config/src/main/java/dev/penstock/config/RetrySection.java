package dev.penstock.config;

import dev.penstock.core.retry.RetryPolicy;
import java.util.Map;
import org.yaml.snakeyaml.nodes.Node;

/**
 * The {@code retry:} section, read the same way by the gateway and the library: core's {@link
 * RetryPolicy} and whether an attempt that timed out is retried on another deployment.
 *
 * @param policy attempts and back-off
 * @param onTimeout {@code retry.on_timeout}
 */
public record RetrySection(RetryPolicy policy, boolean onTimeout) {
  /** No {@code retry:} section. */
  public static final RetrySection DEFAULT = new RetrySection(RetryPolicy.DEFAULT, false);

  private static final String PREFIX = "retry.";
  private static final long MILLI = 1_000_000L;

  /**
   * Reads the section at {@code node}; a field that is absent or invalid (reported to {@code
   * reader}) keeps core's default.
   */
  public static RetrySection read(YamlReader reader, Node node) {
    Map<String, Node> f = reader.fields(node, PREFIX, SectionFields.RETRY.shared());
    RetryPolicy d = RetryPolicy.DEFAULT;
    if (f == null) {
      return DEFAULT;
    }
    long baseMillis =
        reader.number(f, "backoff_base_ms", PREFIX, d.baseNanos() / MILLI, 0, 600_000);
    long capMillis =
        reader.atLeast(
            node,
            PREFIX + "backoff_cap_ms",
            reader.number(f, "backoff_cap_ms", PREFIX, d.capNanos() / MILLI, 0, 3_600_000),
            "backoff_base_ms",
            baseMillis);
    boolean onTimeout = reader.bool(f, "on_timeout", PREFIX, false);
    RetryPolicy policy =
        new RetryPolicy(
            (int) reader.number(f, "attempts", PREFIX, d.attempts(), 1, 20),
            baseMillis * MILLI,
            capMillis * MILLI);
    return new RetrySection(policy, onTimeout);
  }
}
