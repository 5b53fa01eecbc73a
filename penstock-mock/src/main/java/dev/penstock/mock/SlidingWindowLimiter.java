package dev.penstock.mock;

/**
 * The simulator's own rate limiter for one key: a sliding-window log of the requests and tokens it
 * accepted in the last 60 seconds.
 *
 * <h2>Design</h2>
 *
 * <p>This is the referee of the gateway, so it is the simplest limiter that is exactly right, not
 * the fastest: every accepted request is logged with its time and its token charge, and a new
 * request is accepted only if the window ending now, plus this request, stays within both the RPM
 * and the TPM limit. There are no buckets, refill rates or approximations to argue about: if the
 * log accepted it, no 60-second window ever held more than the limit.
 *
 * <p>Like OpenAI, a request is charged its prompt tokens plus its output cap when it arrives, and
 * nothing is refunded. A request larger than the whole TPM limit can never run and gets OpenAI's
 * "Request too large" answer instead of a retry time. Rejected requests are not logged: a client
 * that retries too early only gets more {@code 429}s, it does not push its own window further.
 *
 * <p>Pure: time is passed in. Not thread-safe: {@link KeyState} holds the lock.
 */
final class SlidingWindowLimiter {
  private final WindowLog requests = new WindowLog();
  private final WindowLog tokens = new WindowLog();

  /** The limits in force for one decision; they may change at runtime. */
  record Limits(long rpm, long tpm) {}

  /** What the window looked like after the decision: the source of the x-ratelimit-* headers. */
  record Headroom(
      long limitRequests,
      long limitTokens,
      long remainingRequests,
      long remainingTokens,
      long resetRequestsNanos,
      long resetTokensNanos) {}

  /** The outcome of one request. */
  sealed interface Decision {
    Headroom headroom();
  }

  record Accepted(Headroom headroom) implements Decision {}

  /** Over the RPM (limit type {@code "requests"}) or TPM ({@code "tokens"}) limit of the window. */
  record RateLimited(
      String limitType,
      long limit,
      long used,
      long requested,
      long retryAfterNanos,
      Headroom headroom)
      implements Decision {}

  /** The request alone exceeds the TPM limit: it can never be accepted. */
  record TooLarge(long limit, long requested, Headroom headroom) implements Decision {}

  Decision tryAcquire(long nowNanos, long tokenCost, Limits limits) {
    requests.expire(nowNanos);
    tokens.expire(nowNanos);
    if (tokenCost > limits.tpm()) {
      return new TooLarge(limits.tpm(), tokenCost, headroom(nowNanos, limits));
    }
    if (requests.sum() + 1 > limits.rpm()) {
      long wait = requests.nanosUntilFits(nowNanos, 1, limits.rpm());
      return new RateLimited(
          "requests", limits.rpm(), requests.sum(), 1, wait, headroom(nowNanos, limits));
    }
    if (tokens.sum() + tokenCost > limits.tpm()) {
      long wait = tokens.nanosUntilFits(nowNanos, tokenCost, limits.tpm());
      return new RateLimited(
          "tokens", limits.tpm(), tokens.sum(), tokenCost, wait, headroom(nowNanos, limits));
    }
    requests.add(nowNanos, 1);
    tokens.add(nowNanos, tokenCost);
    return new Accepted(headroom(nowNanos, limits));
  }

  void clear() {
    requests.clear();
    tokens.clear();
  }

  private Headroom headroom(long nowNanos, Limits limits) {
    return new Headroom(
        limits.rpm(),
        limits.tpm(),
        Math.max(0, limits.rpm() - requests.sum()),
        Math.max(0, limits.tpm() - tokens.sum()),
        requests.nanosUntilEmpty(nowNanos),
        tokens.nanosUntilEmpty(nowNanos));
  }
}
