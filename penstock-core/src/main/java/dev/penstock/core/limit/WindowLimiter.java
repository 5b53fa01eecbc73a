package dev.penstock.core.limit;

/**
 * A caller's own requests-per-minute and tokens-per-minute limits, counted exactly over a sliding
 * window with the same {@link ReservationLog} that keeps deployments under their providers' limits.
 * Unlike a deployment, a caller is not paced: it may use its whole minute at once, as a provider
 * lets a key burst, and what does not fit is refused at once with the time it would fit (the
 * gateway answers {@code 429} with {@code Retry-After}), never queued.
 *
 * <p>A reservation is charged the request's estimated tokens; {@link #settle} replaces the estimate
 * with the real usage while the reservation is still in the window.
 *
 * <p>Thread-safe: each limiter has its own lock, held for the few operations on its log; callers of
 * different limiters never contend.
 */
public final class WindowLimiter {
  /** No limit: the value to pass for an RPM or TPM that is not set. */
  public static final long UNLIMITED = 0;

  private final ReservationLog log = new ReservationLog();
  private final long windowNanos;
  private long rpm;
  private long tpm;

  /**
   * What other instances of a cluster charged in their windows, as last told ({@link #elsewhere}).
   */
  private long elsewhereRequests;

  private long elsewhereTokens;

  /**
   * @param rpm requests per window, or {@link #UNLIMITED}
   * @param tpm tokens per window, or {@link #UNLIMITED}
   * @param windowNanos the window both are counted over (a minute)
   */
  public WindowLimiter(long rpm, long tpm, long windowNanos) {
    if (rpm < 0 || tpm < 0 || windowNanos <= 0) {
      throw new IllegalArgumentException("limits must not be negative and the window positive");
    }
    this.rpm = rpm;
    this.tpm = tpm;
    this.windowNanos = windowNanos;
  }

  /** New limits (an operator changed the caller's policy); what was charged stays charged. */
  public synchronized void reconfigure(long newRpm, long newTpm) {
    if (newRpm < 0 || newTpm < 0) {
      throw new IllegalArgumentException("limits must not be negative");
    }
    rpm = newRpm;
    tpm = newTpm;
  }

  /**
   * Counts what other instances of a cluster charged to the same caller in their windows (told
   * every second or so): from now on this one allows only what is left of the limits beside it.
   */
  public synchronized void elsewhere(long requests, long tokens) {
    elsewhereRequests = Math.max(0, requests);
    elsewhereTokens = Math.max(0, tokens);
  }

  /**
   * Charges one request of {@code tokens} now if it fits under both limits, else charges nothing.
   * The decision carries what the caller is told either way: its limits, what remains of them, and
   * when they reset.
   */
  public synchronized Decision tryAcquire(long nowNanos, long tokens) {
    log.expire(nowNanos);
    long requestLimit = Math.max(0, effective(rpm) - elsewhereRequests);
    long tokenLimit = Math.max(0, effective(tpm) - elsewhereTokens);
    long cost = Math.max(0, tokens);
    if (tpm != UNLIMITED && cost > tpm) {
      return decision(false, -1, DeploymentLimiter.NEVER, nowNanos);
    }
    long fit =
        log.fitTimeNanos(nowNanos, cost, requestLimit, tokenLimit, ReservationLog.Phantom.NONE);
    if (fit > nowNanos) {
      return decision(false, -1, fit, nowNanos);
    }
    long sequence = log.add(nowNanos + windowNanos, cost);
    return decision(true, sequence, nowNanos, nowNanos);
  }

  /**
   * Replaces a reservation's estimated tokens with what it really used (no effect once it has left
   * the window). {@code actualTokens < 0} means unknown: the estimate stays.
   */
  public synchronized void settle(long sequence, long actualTokens) {
    if (actualTokens >= 0) {
      log.setTokens(sequence, actualTokens);
    }
  }

  /** Takes back a reservation whose request was refused before it reached any upstream. */
  public synchronized void cancel(long sequence) {
    log.cancel(sequence);
  }

  /** Requests charged in the current window. */
  public synchronized long windowRequests(long nowNanos) {
    log.expire(nowNanos);
    return log.requests();
  }

  /** Tokens charged in the current window. */
  public synchronized long windowTokens(long nowNanos) {
    log.expire(nowNanos);
    return log.tokens();
  }

  private Decision decision(boolean allowed, long sequence, long retryAtNanos, long nowNanos) {
    long requests = log.requests() + elsewhereRequests;
    long usedTokens = log.tokens() + elsewhereTokens;
    long lastExpiry = log.lastExpiryNanos();
    return new Decision(
        allowed,
        sequence,
        retryAtNanos,
        rpm,
        rpm == UNLIMITED ? -1 : Math.max(0, rpm - requests),
        tpm,
        tpm == UNLIMITED ? -1 : Math.max(0, tpm - usedTokens),
        lastExpiry == Long.MIN_VALUE ? 0 : Math.max(0, lastExpiry - nowNanos));
  }

  private static long effective(long limit) {
    return limit == UNLIMITED ? Long.MAX_VALUE / 4 : limit;
  }

  /**
   * A caller's standing after {@link #tryAcquire}.
   *
   * @param allowed whether the request was charged
   * @param sequence the reservation to {@link #settle} or {@link #cancel}, when allowed
   * @param retryAtNanos when the request would fit, or {@link DeploymentLimiter#NEVER} if it never
   *     can (more tokens than the limit)
   * @param requestLimit the RPM, 0 when unlimited
   * @param remainingRequests requests left in the window, -1 when unlimited
   * @param tokenLimit the TPM, 0 when unlimited
   * @param remainingTokens tokens left in the window, -1 when unlimited
   * @param resetNanos until everything charged in the window stops counting: the limits' reset to
   *     their initial state, as OpenAI's {@code x-ratelimit-reset-*} headers mean it
   */
  public record Decision(
      boolean allowed,
      long sequence,
      long retryAtNanos,
      long requestLimit,
      long remainingRequests,
      long tokenLimit,
      long remainingTokens,
      long resetNanos) {}
}
