package dev.penstock.core.limit;

/**
 * What an upstream answer said about its key's limits ({@code x-ratelimit-*} headers). A field is
 * {@link #UNKNOWN} when the header was absent or meaningless ({@code -1}, or {@code 0} for a
 * limit).
 */
public record RateLimitObservation(
    long limitRequests,
    long limitTokens,
    long remainingRequests,
    long remainingTokens,
    long resetRequestsNanos,
    long resetTokensNanos) {
  public static final long UNKNOWN = -1;
  public static final RateLimitObservation NONE =
      new RateLimitObservation(UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN);

  public boolean isEmpty() {
    return equals(NONE);
  }
}
