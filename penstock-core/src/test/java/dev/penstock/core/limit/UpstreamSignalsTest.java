package dev.penstock.core.limit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class UpstreamSignalsTest {
  private static final long MS = 1_000_000L;
  private static final long S = 1000 * MS;

  private static java.util.function.Function<String, Optional<String>> headers(
      Map<String, String> map) {
    return name -> Optional.ofNullable(map.get(name));
  }

  @Test
  void parsesOpenAisDurations() {
    assertThat(UpstreamSignals.duration("20ms")).isEqualTo(20 * MS);
    assertThat(UpstreamSignals.duration("1s")).isEqualTo(S);
    assertThat(UpstreamSignals.duration("1.5s")).isEqualTo(1500 * MS);
    assertThat(UpstreamSignals.duration("6m0s")).isEqualTo(360 * S);
    assertThat(UpstreamSignals.duration("1h2m3.25s")).isEqualTo(3723 * S + 250 * MS);
    assertThat(UpstreamSignals.duration("17")).isEqualTo(17 * S);
    for (String unknown : new String[] {"", "-1", "0", "soon", "5x", "1s2"}) {
      assertThat(UpstreamSignals.duration(unknown)).as(unknown).isEqualTo(-1);
    }
  }

  @Test
  void readsRateLimitHeadersAndTreatsZeroOrNegativeLimitsAsUnknown() {
    RateLimitObservation seen =
        UpstreamSignals.rateLimits(
            headers(
                Map.of(
                    "x-ratelimit-limit-requests", "200",
                    "x-ratelimit-remaining-requests", "0",
                    "x-ratelimit-reset-requests", "300ms",
                    "x-ratelimit-limit-tokens", "0",
                    "x-ratelimit-remaining-tokens", "0",
                    "x-ratelimit-reset-tokens", "6m0s")));
    assertThat(seen).isEqualTo(new RateLimitObservation(200, -1, 0, -1, 300 * MS, -1));
    assertThat(UpstreamSignals.rateLimits(headers(Map.of())).isEmpty()).isTrue();
  }

  @Test
  void retryAfterPrefersMillisThenSecondsThenAnHttpDateThenTheMessage() {
    assertThat(
            UpstreamSignals.retryAfterNanos(
                headers(Map.of("retry-after-ms", "1500", "retry-after", "9")), "", 0))
        .isEqualTo(1500 * MS);
    assertThat(UpstreamSignals.retryAfterNanos(headers(Map.of("retry-after", "2")), "", 0))
        .isEqualTo(2 * S);
    assertThat(
            UpstreamSignals.retryAfterNanos(
                headers(Map.of("retry-after", "Thu, 01 Jan 1970 00:00:10 GMT")), "", 4000))
        .isEqualTo(6 * S);
    assertThat(
            UpstreamSignals.retryAfterNanos(
                headers(Map.of()), "Rate limit reached ... Please try again in 1m2.5s. Visit", 0))
        .isEqualTo(62_500 * MS);
    assertThat(UpstreamSignals.retryAfterNanos(headers(Map.of()), "no hint", 0)).isEqualTo(-1);
  }

  @Test
  void classifiesTooManyRequests() {
    assertThat(
            UpstreamSignals.classify(
                "insufficient_quota", "insufficient_quota", "You exceeded your current quota"))
        .isEqualTo(UpstreamSignals.TooMany.INSUFFICIENT_QUOTA);
    assertThat(
            UpstreamSignals.classify(
                "rate_limit_exceeded", "tokens", "Request too large for gpt-4o"))
        .isEqualTo(UpstreamSignals.TooMany.TOO_LARGE);
    assertThat(UpstreamSignals.classify("rate_limit_exceeded", "requests", "Rate limit reached"))
        .isEqualTo(UpstreamSignals.TooMany.RATE_LIMIT);
    assertThat(UpstreamSignals.classify(null, null, ""))
        .isEqualTo(UpstreamSignals.TooMany.RATE_LIMIT);
  }

  /**
   * {@code retry-after-ms: Infinity} once overflowed into no cool-down (3,190 upstream requests in
   * 2 s against an rpm-600 deployment) and {@code retry-after: 1000000000} set a 31-year one.
   */
  @Test
  void absurdWaitsAreIgnoredOrClamped() {
    for (String value : new String[] {"Infinity", "NaN", "-5", "1e400"}) {
      assertThat(UpstreamSignals.retryAfterNanos(headers(Map.of("retry-after-ms", value)), "", 0))
          .as("retry-after-ms: " + value)
          .isEqualTo(-1);
    }
    assertThat(UpstreamSignals.retryAfterNanos(headers(Map.of("retry-after", "1000000000")), "", 0))
        .isEqualTo(UpstreamSignals.MAX_RETRY_AFTER_NANOS);
    assertThat(
            UpstreamSignals.retryAfterNanos(
                headers(Map.of("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")), "", 0))
        .isEqualTo(UpstreamSignals.MAX_RETRY_AFTER_NANOS);
    assertThat(UpstreamSignals.retryAfterNanos(headers(Map.of("retry-after-ms", "250")), "", 0))
        .isEqualTo(250 * MS);
    assertThat(UpstreamSignals.duration("99999h")).isEqualTo(UpstreamSignals.MAX_RESET_NANOS);
  }
}
