package dev.penstock.core.limit;

import dev.penstock.core.health.BreakerPolicy;
import dev.penstock.core.health.CircuitBreaker;
import org.jspecify.annotations.Nullable;

/**
 * The limit state of one deployment: when it may next receive a request, what it has been charged,
 * and what the upstream told about it.
 *
 * <h2>Design</h2>
 *
 * <p>Two mechanisms, each doing what it is good at. A {@link Gcra} schedule per dimension (requests
 * and tokens) spaces requests smoothly, so that a 200 RPM key receives one request every ~300 ms
 * rather than 200 at the top of a minute. A {@link ReservationLog} then guarantees the limit
 * exactly: a request starts only when, counting every reservation still in the window (plus the
 * guard, see {@link Pacing}), it fits under both RPM and TPM. The schedule alone would let a large
 * request follow a small one too closely; the log alone would allow bursts.
 *
 * <p>After the answer, {@link #settle} reconciles the charge with what the provider counts ({@link
 * TpmCharge}); {@link #observe} folds in the upstream's own view of its remaining capacity, which
 * can only make Penstock more careful: usage the upstream reports beyond Penstock's own log is held
 * as a "phantom" charge until the upstream's reset time.
 *
 * <h2>Batch work: spare capacity only</h2>
 *
 * <p>Work that can wait ({@link #reserveBatch}, the lines of a batch) must not make interactive
 * requests wait. With smooth pacing, every slot a batch line takes would otherwise delay the next
 * interactive request by up to one interval. So the schedules are kept twice: the full ones count
 * everything, the interactive ones only interactive requests. A batch line starts only when the
 * full schedule is free now (no burst tolerance at all) and leaves two requests (one for the
 * interactive request that runs ahead, one for the next), one request's tokens and one concurrency
 * slot of the window free. An interactive request is paced by its own schedules and may run ahead
 * of the full one by at most the booking of one batch line: it takes the slot the last batch line
 * booked, and the batch then waits one interval longer. The rate over time stays the limit (the
 * full schedule is paid either way); the worst burst is one batch line and one interactive request
 * close together; the {@link ReservationLog} keeps every 60 s window exact. With no batch work the
 * two schedules are the same and nothing changes.
 *
 * <p>The deployment's {@link CircuitBreaker} gates it too: while the circuit is open the deployment
 * is not ready, and the first request after the open time is the breaker's probe.
 *
 * <p>Pure: time is passed in. Not thread-safe: the scheduler's lock guards every call.
 */
public final class DeploymentLimiter {
  /** A start time meaning "not until something changes" (disabled, full concurrency, too large). */
  public static final long NEVER = Long.MAX_VALUE;

  private final String name;
  private DeploymentLimits limits;
  private Pacing pacing;
  private final Gcra requestPacer = new Gcra();
  private final Gcra tokenPacer = new Gcra();

  /** The schedules of interactive requests alone (see "Batch work" above). */
  private final Gcra interactiveRequestPacer = new Gcra();

  private final Gcra interactiveTokenPacer = new Gcra();

  /** How far the last batch line's booking lets interactive requests run ahead of the full one. */
  private long lentRequestNanos;

  private long lentTokenNanos;
  private final ReservationLog log = new ReservationLog();
  private int inFlight;
  private long coolDownUntilNanos = Long.MIN_VALUE;
  private @Nullable String disabledReason;
  private long observedRpm;
  private long observedTpm;
  private int lowRpmReports;
  private int lowTpmReports;
  private long learnedUntilNanos = Long.MIN_VALUE;
  private ReservationLog.Phantom phantom = ReservationLog.Phantom.NONE;
  private long lastRemainingRequests = RateLimitObservation.UNKNOWN;
  private long lastRemainingTokens = RateLimitObservation.UNKNOWN;
  private CircuitBreaker health;
  private BreakerPolicy breakerPolicy;

  /** Cluster mode's gate: the share of the limits this instance may use; null alone. */
  private @Nullable SharedCapacity shared;

  public DeploymentLimiter(String name, DeploymentLimits limits, Pacing pacing) {
    this(name, limits, pacing, BreakerPolicy.DEFAULT);
  }

  public DeploymentLimiter(
      String name, DeploymentLimits limits, Pacing pacing, BreakerPolicy breakerPolicy) {
    this.name = name;
    this.limits = limits;
    this.pacing = pacing;
    this.breakerPolicy = breakerPolicy;
    this.health = new CircuitBreaker(breakerPolicy);
  }

  public String name() {
    return name;
  }

  public DeploymentLimits limits() {
    return limits;
  }

  /** New limits from a reloaded configuration; what was already charged stays charged. */
  public void reconfigure(DeploymentLimits newLimits, Pacing newPacing, BreakerPolicy newPolicy) {
    limits = newLimits;
    pacing = newPacing;
    if (!newPolicy.equals(breakerPolicy)) {
      breakerPolicy = newPolicy;
      health = new CircuitBreaker(newPolicy); // new thresholds: judge the deployment afresh
    }
  }

  /**
   * Puts the deployment under cluster mode's gate (SPEC 13): from now on a request starts only when
   * this instance's lease, or its fallback share, lets it, besides everything else.
   */
  public void share(SharedCapacity gate) {
    shared = gate;
  }

  /**
   * Cluster mode: the starts to tell the cluster, with how long each goes on counting, grouped by
   * {@code groupNanos} — every start of this window after the cluster lost its state, else the
   * fallback's starts not yet told; empty without a gate.
   */
  public java.util.List<long[]> startsToTell(long nowNanos, long groupNanos) {
    SharedCapacity gate = shared;
    if (gate == null) {
      return java.util.List.of();
    }
    if (gate.reseeding()) {
      log.expire(nowNanos);
      return log.remaining(nowNanos, groupNanos);
    }
    return gate.untold(nowNanos, groupNanos);
  }

  /** Cluster mode's gate, or null when this instance alone uses the deployment. */
  public @Nullable SharedCapacity shared() {
    return shared;
  }

  /** The deployment's circuit breaker; record outcomes through the scheduler. */
  public CircuitBreaker health() {
    return health;
  }

  /** The RPM in force: the configured one, or the upstream's if it reported a lower one. */
  public long rpm() {
    return observedRpm > 0 ? Math.min(limits.rpm(), observedRpm) : limits.rpm();
  }

  /** The TPM in force: the configured one, or the upstream's if it reported a lower one. */
  public long tpm() {
    return observedTpm > 0 ? Math.min(limits.tpm(), observedTpm) : limits.tpm();
  }

  /**
   * When this deployment may next start a request of any size: the latest of its pacing schedule,
   * its cooldown and its circuit's open time, or {@link #NEVER} while disabled, at its concurrency
   * limit or while its circuit's probe runs. May lie in the past (idle since then).
   */
  public long readyAtNanos(long nowNanos) {
    forgetLapsedLimits(nowNanos);
    if (disabledReason != null
        || (limits.maxConcurrency() > 0 && inFlight >= limits.maxConcurrency())) {
      return NEVER;
    }
    log.expire(nowNanos);
    long paced =
        Math.max(
            Math.max(
                interactiveRequestPacer.allowedAtNanos(), interactiveTokenPacer.allowedAtNanos()),
            Math.max(
                lent(requestPacer.allowedAtNanos(), lentRequestNanos),
                lent(tokenPacer.allowedAtNanos(), lentTokenNanos)));
    long ready = Math.max(paced, Math.max(coolDownUntilNanos, health.admitsAtNanos()));
    if (ready == NEVER) {
      return NEVER;
    }
    if (log.requests() + phantom.requestsAt(nowNanos) >= rpm()) {
      ready = Math.max(ready, log.fitTimeNanos(nowNanos, 0, rpm(), tpm(), phantom));
    }
    return ready;
  }

  /**
   * The earliest time, not before {@code nowNanos}, at which a request charged {@code tokens} can
   * start here, or {@link #NEVER}.
   */
  public long startTimeNanos(long nowNanos, long tokens) {
    forgetLapsedLimits(nowNanos);
    if (tokens > tpm()) {
      return NEVER;
    }
    long ready = readyAtNanos(nowNanos);
    if (ready == NEVER) {
      return NEVER;
    }
    long start =
        Math.max(
            Math.max(ready, nowNanos), log.fitTimeNanos(nowNanos, tokens, rpm(), tpm(), phantom));
    return shared == null ? start : gated(start, nowNanos, tokens);
  }

  /**
   * {@code start}, or later when cluster mode's gate says so. The gate is asked here and not in
   * {@link #readyAtNanos}: its time moves later by itself (a leased slot lapses), which the pool's
   * cached ready times must never do.
   */
  private long gated(long start, long nowNanos, long tokens) {
    SharedCapacity gate = shared;
    if (gate == null || start == NEVER) {
      return start;
    }
    return Math.max(start, gate.startTimeNanos(nowNanos, tokens, rpm(), tpm()));
  }

  private static long lent(long allowedAtNanos, long lentNanos) {
    return allowedAtNanos == Long.MIN_VALUE ? Long.MIN_VALUE : allowedAtNanos - lentNanos;
  }

  /**
   * When a batch line charged {@code tokens} can start here, or {@link #NEVER}: only when the full
   * schedule is free now and the window keeps room for interactive requests beside it (see "Batch
   * work" above). Exact when the schedule is free now; otherwise the schedule's free time, a lower
   * bound at which it is asked again.
   */
  public long batchStartTimeNanos(long nowNanos, long tokens) {
    forgetLapsedLimits(nowNanos);
    int maxConcurrency = limits.maxConcurrency();
    if (tokens > tpm()
        || disabledReason != null
        || (maxConcurrency > 0 && inFlight >= (maxConcurrency > 1 ? maxConcurrency - 1 : 1))) {
      return NEVER;
    }
    log.expire(nowNanos);
    long ready =
        Math.max(
            Math.max(requestPacer.allowedAtNanos(), tokenPacer.allowedAtNanos()),
            Math.max(coolDownUntilNanos, health.admitsAtNanos()));
    if (ready == NEVER) {
      return NEVER;
    }
    if (ready > nowNanos) {
      // Not before then; the window is judged then (a lower bound is enough for a wake-up, and
      // saves walking the log while batch lines wait behind a busy schedule).
      return ready;
    }
    long rpm = rpm();
    long tpm = tpm();
    long spareRequests = Math.max(1, rpm - 2);
    long spareTokens = tpm - Math.min(tokens, tpm - tokens);
    return gated(
        Math.max(
            Math.max(ready, nowNanos),
            log.fitTimeNanos(nowNanos, tokens, spareRequests, spareTokens, phantom)),
        nowNanos,
        tokens);
  }

  /** Charges one request; the caller has checked {@link #startTimeNanos} is now. */
  public Charge reserve(long nowNanos, long promptTokens, long outputTokens) {
    long cost = promptTokens + outputTokens;
    long sequence = log.add(nowNanos + pacing.spanNanos(), cost);
    requestPacer.consume(nowNanos, 1, nanosPerRequest());
    tokenPacer.consume(nowNanos, cost, nanosPerToken());
    interactiveRequestPacer.consume(nowNanos, 1, nanosPerRequest());
    interactiveTokenPacer.consume(nowNanos, cost, nanosPerToken());
    if (shared != null) {
      shared.consume(nowNanos, cost, rpm(), tpm());
    }
    health.onStart(nowNanos);
    inFlight++;
    return new Charge(sequence, promptTokens, outputTokens, cost, false);
  }

  /**
   * Charges one batch line; the caller has checked {@link #batchStartTimeNanos} is now. It books
   * the full schedules only, and lends its booking to interactive requests.
   */
  public Charge reserveBatch(long nowNanos, long promptTokens, long outputTokens) {
    long cost = promptTokens + outputTokens;
    long sequence = log.add(nowNanos + pacing.spanNanos(), cost);
    requestPacer.consume(nowNanos, 1, nanosPerRequest());
    tokenPacer.consume(nowNanos, cost, nanosPerToken());
    lentRequestNanos = (long) Math.ceil(nanosPerRequest());
    lentTokenNanos = (long) Math.ceil(cost * nanosPerToken());
    if (shared != null) {
      shared.consume(nowNanos, cost, rpm(), tpm());
    }
    health.onStart(nowNanos);
    inFlight++;
    return new Charge(sequence, promptTokens, outputTokens, cost, true);
  }

  /**
   * Ends a reservation. {@code actualPromptTokens} and {@code actualCompletionTokens} are the usage
   * the upstream reported, or -1 when unknown (the estimate then stays charged).
   */
  public void settle(
      Charge charge,
      long nowNanos,
      Settlement settlement,
      long actualPromptTokens,
      long actualCompletionTokens) {
    inFlight--;
    if (shared != null) {
      // What the cluster counted for this start, corrected like the log below; only while the
      // start is still in the window (a correction for one gone could land on a later one).
      boolean inWindow = log.contains(charge.sequence());
      if (inWindow && settlement == Settlement.UNCOUNTED) {
        shared.adjust(-1, -charge.tokens());
      } else if (inWindow && settlement == Settlement.COMPLETED && actualPromptTokens >= 0) {
        shared.adjust(
            0, charged(charge, actualPromptTokens, actualCompletionTokens) - charge.tokens());
      }
    }
    switch (settlement) {
      case UNCOUNTED -> {
        log.cancel(charge.sequence());
        requestPacer.refund(nowNanos, 1, nanosPerRequest());
        tokenPacer.refund(nowNanos, charge.tokens(), nanosPerToken());
        if (!charge.batch()) {
          interactiveRequestPacer.refund(nowNanos, 1, nanosPerRequest());
          interactiveTokenPacer.refund(nowNanos, charge.tokens(), nanosPerToken());
        }
      }
      case REFUSED -> log.cancel(charge.sequence());
      case COUNTED -> {}
      case COMPLETED -> {
        if (actualPromptTokens < 0) {
          return;
        }
        rechargeTokens(
            charge, nowNanos, charged(charge, actualPromptTokens, actualCompletionTokens));
      }
    }
  }

  /** What a completed request is charged, from the usage its answer reported. */
  private long charged(Charge charge, long actualPromptTokens, long actualCompletionTokens) {
    return limits.tpmCharge() == TpmCharge.USAGE
        ? actualPromptTokens + Math.max(0, actualCompletionTokens)
        : Math.max(charge.promptTokens(), actualPromptTokens) + charge.outputTokens();
  }

  private void rechargeTokens(Charge charge, long nowNanos, long charged) {
    log.setTokens(charge.sequence(), charged);
    if (charged < charge.tokens()) {
      tokenPacer.refund(nowNanos, charge.tokens() - charged, nanosPerToken());
      if (!charge.batch()) {
        interactiveTokenPacer.refund(nowNanos, charge.tokens() - charged, nanosPerToken());
      }
    } else if (charged > charge.tokens()) {
      tokenPacer.consume(nowNanos, charged - charge.tokens(), nanosPerToken());
      if (!charge.batch()) {
        interactiveTokenPacer.consume(nowNanos, charged - charge.tokens(), nanosPerToken());
      }
    }
  }

  /**
   * Folds in the upstream's report of its limits. A lower limit than configured is adopted; use
   * beyond what Penstock itself charged is held as phantom use until the reported reset.
   */
  public void observe(RateLimitObservation seen, long nowNanos) {
    if (seen.remainingRequests() >= 0) {
      lastRemainingRequests = seen.remainingRequests();
    }
    if (seen.remainingTokens() >= 0) {
      lastRemainingTokens = seen.remainingTokens();
    }
    lowRpmReports = lowRun(seen.limitRequests(), limits.rpm(), lowRpmReports);
    observedRpm = learned(seen.limitRequests(), limits.rpm(), observedRpm, lowRpmReports);
    lowTpmReports = lowRun(seen.limitTokens(), limits.tpm(), lowTpmReports);
    observedTpm = learned(seen.limitTokens(), limits.tpm(), observedTpm, lowTpmReports);
    if ((observedRpm > 0 && seen.limitRequests() > 0)
        || (observedTpm > 0 && seen.limitTokens() > 0)) {
      learnedUntilNanos = nowNanos + LEARNED_TTL_NANOS; // a lower limit, reported again
    }
    log.expire(nowNanos);
    long extraRequests = 0;
    long requestsUntil = Long.MIN_VALUE;
    if (seen.remainingRequests() >= 0) {
      extraRequests = rpm() - seen.remainingRequests() - log.requests();
      requestsUntil = nowNanos + resetOrSpan(seen.resetRequestsNanos());
    }
    long extraTokens = 0;
    long tokensUntil = Long.MIN_VALUE;
    if (seen.remainingTokens() >= 0) {
      extraTokens = tpm() - seen.remainingTokens() - log.tokens();
      tokensUntil = nowNanos + resetOrSpan(seen.resetTokensNanos());
    }
    if (seen.remainingRequests() >= 0 || seen.remainingTokens() >= 0) {
      ReservationLog.Phantom old = phantom;
      phantom =
          new ReservationLog.Phantom(
              seen.remainingRequests() >= 0 ? Math.max(0, extraRequests) : old.requests(),
              seen.remainingRequests() >= 0 ? requestsUntil : old.requestsUntilNanos(),
              seen.remainingTokens() >= 0 ? Math.max(0, extraTokens) : old.tokens(),
              seen.remainingTokens() >= 0 ? tokensUntil : old.tokensUntilNanos());
    }
  }

  /** Answers in a row needed before a limit far below the configured one is believed. */
  static final int LOW_LIMIT_CONFIRMATIONS = 3;

  /**
   * How long a lower limit learned from the upstream holds without being reported again. A real
   * lower limit is reported on every answer; a wrong one that stops requests from reaching the
   * upstream at all (too small a TPM makes every request "too large") lapses, and the next answer
   * teaches afresh.
   */
  static final long LEARNED_TTL_NANOS = 10L * 60 * 1_000_000_000L;

  /**
   * The limit to use after the upstream reported {@code reported} (0 = the configured one): a lower
   * limit than configured is adopted — at once when it is at least a quarter of the configured one,
   * after {@link #LOW_LIMIT_CONFIRMATIONS} answers in a row when it is lower still — and lapses
   * after {@link #LEARNED_TTL_NANOS} unless reported again. One lying or garbled header ({@code
   * x-ratelimit-limit-tokens: 1} once made every later request "too large" for good, with no
   * request ever reaching the upstream to correct it) cannot take a deployment out.
   *
   * @param lowRun answers in a row, this one included, that reported below a quarter
   */
  private static long learned(long reported, long configured, long current, int lowRun) {
    if (reported <= 0) {
      return current; // nothing said
    }
    if (reported >= configured) {
      return 0; // the configured limit holds
    }
    if (reported >= configured / 4 || lowRun >= LOW_LIMIT_CONFIRMATIONS) {
      return reported;
    }
    return current;
  }

  /** The run of answers in a row reporting a limit below a quarter of the configured one. */
  private static int lowRun(long reported, long configured, int run) {
    if (reported <= 0) {
      return run; // nothing said: the run stands
    }
    return reported < configured / 4 ? run + 1 : 0;
  }

  private void forgetLapsedLimits(long nowNanos) {
    if (nowNanos >= learnedUntilNanos && (observedRpm > 0 || observedTpm > 0)) {
      observedRpm = 0;
      observedTpm = 0;
    }
  }

  /**
   * Forgets what the upstream taught: lower limits, use it reported beyond Penstock's own, and a
   * cool-down — an operator's {@code enable} starts the deployment afresh.
   */
  public void forgetLearned() {
    observedRpm = 0;
    observedTpm = 0;
    learnedUntilNanos = Long.MIN_VALUE;
    lowRpmReports = 0;
    lowTpmReports = 0;
    phantom = ReservationLog.Phantom.NONE;
    coolDownUntilNanos = Long.MIN_VALUE;
  }

  private long resetOrSpan(long resetNanos) {
    return resetNanos > 0 ? resetNanos : pacing.spanNanos();
  }

  /**
   * The upstream's last {@code x-ratelimit-remaining-requests}, or {@link
   * RateLimitObservation#UNKNOWN} until one was seen (for the operator's view only).
   */
  public long lastRemainingRequests() {
    return lastRemainingRequests;
  }

  /** The upstream's last {@code x-ratelimit-remaining-tokens}, or {@code UNKNOWN}. */
  public long lastRemainingTokens() {
    return lastRemainingTokens;
  }

  /** Sends nothing here before {@code untilNanos} (an upstream rate-limit answer). */
  public void coolDownUntil(long untilNanos) {
    coolDownUntilNanos = Math.max(coolDownUntilNanos, untilNanos);
  }

  public long coolDownUntilNanos() {
    return coolDownUntilNanos;
  }

  /** Takes the deployment out of rotation until {@link #enable()} (e.g. insufficient quota). */
  public void disable(String reason) {
    disabledReason = reason;
  }

  public void enable() {
    disabledReason = null;
  }

  public @Nullable String disabledReason() {
    return disabledReason;
  }

  public int inFlight() {
    return inFlight;
  }

  /** Whether it has as many requests in flight as its {@code max_concurrency} allows. */
  public boolean atConcurrencyLimit() {
    return limits.maxConcurrency() > 0 && inFlight >= limits.maxConcurrency();
  }

  /** Requests charged in the current window (guard included), phantom use excluded. */
  public long windowRequests(long nowNanos) {
    log.expire(nowNanos);
    return log.requests();
  }

  /** Tokens charged in the current window (guard included), phantom use excluded. */
  public long windowTokens(long nowNanos) {
    log.expire(nowNanos);
    return log.tokens();
  }

  /**
   * Time between this instance's starts here at full use, for the scheduler's estimates: one
   * request's booking, divided by this instance's share of the rate in cluster mode.
   */
  public double estimatedNanosPerRequest() {
    return shared == null ? nanosPerRequest() : nanosPerRequest() / rateShare(shared);
  }

  /** Like {@link #estimatedNanosPerRequest}, for one token. */
  public double estimatedNanosPerToken() {
    return shared == null ? nanosPerToken() : nanosPerToken() / rateShare(shared);
  }

  private static double rateShare(SharedCapacity gate) {
    return Math.max(gate.shareOfRate(), 1e-3);
  }

  /** Time one request books on the request schedule: {@code (window + guard) / rpm}. */
  public double nanosPerRequest() {
    return (double) pacing.spanNanos() / rpm();
  }

  /** Time one token books on the token schedule: {@code (window + guard) / tpm}. */
  public double nanosPerToken() {
    return (double) pacing.spanNanos() / tpm();
  }

  public Pacing pacing() {
    return pacing;
  }
}
