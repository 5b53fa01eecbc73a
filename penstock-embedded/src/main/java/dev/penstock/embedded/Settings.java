package dev.penstock.embedded;

import dev.penstock.core.health.BreakerPolicy;
import dev.penstock.core.retry.RetryPolicy;
import java.time.Duration;

/**
 * The gateway's {@code defaults:}, {@code retry:} and {@code circuit_breaker:} that apply to a
 * library, with the gateway's values.
 *
 * @param timeout a request's deadline, queue wait included, when it names none ({@code
 *     x-penstock-timeout-ms}); {@code defaults.timeout_ms}
 * @param maxOutputTokens the output cap charged when a request sets none
 * @param maxQueued the most requests that may wait for capacity at once
 * @param pacingGuard added to each 60 s window to absorb arrival jitter
 * @param connectTimeout a deployment's connect timeout unless it sets its own
 * @param firstByteTimeout how long an upstream may think before its answer's headers, unless a
 *     deployment sets its own
 * @param retryTimeouts whether an attempt that timed out after reaching its upstream is retried
 *     ({@code retry.on_timeout}): off by default, as a retry would be billed again
 */
public record Settings(
    Duration timeout,
    int maxOutputTokens,
    int maxQueued,
    Duration pacingGuard,
    Duration connectTimeout,
    Duration firstByteTimeout,
    RetryPolicy retry,
    boolean retryTimeouts,
    BreakerPolicy breaker) {

  /** The gateway's defaults (SPEC 4 and 9). */
  public static final Settings DEFAULT =
      new Settings(
          Duration.ofSeconds(60),
          256,
          10_000,
          Duration.ofMillis(500),
          Duration.ofSeconds(5),
          Duration.ofMinutes(10),
          RetryPolicy.DEFAULT,
          false,
          BreakerPolicy.DEFAULT);

  public Settings {
    if (timeout.isNegative() || timeout.isZero() || maxOutputTokens < 1 || maxQueued < 0) {
      throw new IllegalArgumentException(
          "timeout and max_output_tokens must be positive, max_queue not negative");
    }
  }

  public Settings withTimeout(Duration value) {
    return new Settings(
        value,
        maxOutputTokens,
        maxQueued,
        pacingGuard,
        connectTimeout,
        firstByteTimeout,
        retry,
        retryTimeouts,
        breaker);
  }

  public Settings withMaxQueued(int value) {
    return new Settings(
        timeout,
        maxOutputTokens,
        value,
        pacingGuard,
        connectTimeout,
        firstByteTimeout,
        retry,
        retryTimeouts,
        breaker);
  }

  public Settings withPacingGuard(Duration value) {
    return new Settings(
        timeout,
        maxOutputTokens,
        maxQueued,
        value,
        connectTimeout,
        firstByteTimeout,
        retry,
        retryTimeouts,
        breaker);
  }

  public Settings withRetry(RetryPolicy value, boolean onTimeout) {
    return new Settings(
        timeout,
        maxOutputTokens,
        maxQueued,
        pacingGuard,
        connectTimeout,
        firstByteTimeout,
        value,
        onTimeout,
        breaker);
  }

  public Settings withBreaker(BreakerPolicy value) {
    return new Settings(
        timeout,
        maxOutputTokens,
        maxQueued,
        pacingGuard,
        connectTimeout,
        firstByteTimeout,
        retry,
        retryTimeouts,
        value);
  }

  public Settings withMaxOutputTokens(int value) {
    return new Settings(
        timeout,
        value,
        maxQueued,
        pacingGuard,
        connectTimeout,
        firstByteTimeout,
        retry,
        retryTimeouts,
        breaker);
  }
}
