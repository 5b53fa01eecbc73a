package dev.penstock.mock;

import io.helidon.webserver.http.ServerResponse;

/** OpenAI's rate-limit headers, in OpenAI's formats ({@code 20ms}, {@code 1s}, {@code 6m0s}). */
final class MockHeaders {
  private MockHeaders() {}

  static void rateLimits(ServerResponse res, SlidingWindowLimiter.Headroom h) {
    res.header("x-ratelimit-limit-requests", Long.toString(h.limitRequests()));
    res.header("x-ratelimit-limit-tokens", Long.toString(h.limitTokens()));
    res.header("x-ratelimit-remaining-requests", Long.toString(h.remainingRequests()));
    res.header("x-ratelimit-remaining-tokens", Long.toString(h.remainingTokens()));
    res.header("x-ratelimit-reset-requests", OpenAiDurations.format(h.resetRequestsNanos()));
    res.header("x-ratelimit-reset-tokens", OpenAiDurations.format(h.resetTokensNanos()));
  }

  /** {@code retry-after} in whole seconds (rounded up) and the exact {@code retry-after-ms}. */
  static void retryAfter(ServerResponse res, long nanos) {
    long millis = (nanos + 999_999) / 1_000_000;
    res.header("retry-after", Long.toString((millis + 999) / 1000));
    res.header("retry-after-ms", Long.toString(millis));
  }
}
