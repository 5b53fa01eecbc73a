package dev.penstock.core.limit;

/** How an attempt on a deployment ended, as the provider counts it. */
public enum Settlement {
  /** An answer came back; its real usage (when known) reconciles the token charge. */
  COMPLETED,
  /**
   * The provider did not count the request: it was never sent (connection refused) or was refused
   * by the provider's own rate limiter. The whole reservation is returned.
   */
  UNCOUNTED,
  /**
   * The provider's rate limiter refused it ({@code 429}): not in the provider's window, so the
   * window charge is returned — but the pacing schedule keeps its slot, so that a refusal never
   * makes the next send come sooner (an upstream refusing everything at once could loop).
   */
  REFUSED,
  /**
   * The request reached the provider and failed there or on the way back ({@code 5xx}, a reset, a
   * timeout): the provider may have counted it, so the estimate stays charged.
   */
  COUNTED
}
