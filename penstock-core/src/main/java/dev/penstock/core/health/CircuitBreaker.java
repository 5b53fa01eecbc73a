package dev.penstock.core.health;

/**
 * The circuit breaker of one deployment: closed while it works, open after it fails repeatedly,
 * half-open when one probe may test it again.
 *
 * <h2>Design</h2>
 *
 * <p>Two triggers open the circuit: {@link BreakerPolicy#consecutiveFailures} failures in a row (a
 * dead upstream is caught within a handful of requests), or an error rate at or above {@link
 * BreakerPolicy#errorRate} over the last {@link BreakerPolicy#windowNanos} once that window holds
 * {@link BreakerPolicy#minRequests} attempts (an upstream failing every other request is caught
 * even though successes keep interrupting the run). The window is ten buckets, each a tenth of it,
 * so old outcomes age out in steps and memory stays constant.
 *
 * <p>An open circuit admits nothing until its open time ends; then the first request to start is
 * the probe ({@link #onStart}) and no other may start while it runs. A successful probe closes the
 * circuit and clears its history; a failed one opens it again for twice as long (up to {@link
 * BreakerPolicy#maxOpenNanos}); a neutral one (the upstream answered "rate limited") lets the next
 * probe go. The scheduler sees all this as one number, {@link #admitsAtNanos}, folded into the
 * deployment's ready time: an open circuit is simply a deployment that is not ready yet.
 *
 * <p>Optional active health checks feed it too: a failed check is a failure like any other (a dead
 * deployment is found before a client request reaches it); a passed check ends an open time early
 * ({@link #onCheckPassed}) but closes nothing — only a real request's success does.
 *
 * <p>Outcomes of requests that started before the circuit opened may arrive while it is open: they
 * update the counts but not the state, so that a slow success cannot close a circuit no probe
 * tested.
 *
 * <p>Pure: time is passed in. Not thread-safe: the scheduler's lock guards every call.
 */
public final class CircuitBreaker {
  /** What the breaker lets through. */
  public enum State {
    /** Everything: the deployment works. */
    CLOSED,
    /** Nothing, until the open time ends. */
    OPEN,
    /** One probe at a time. */
    HALF_OPEN
  }

  private static final int BUCKETS = 10;

  private final BreakerPolicy policy;
  private State state = State.CLOSED;
  private int consecutiveFailures;
  private long openUntilNanos;
  private long nextOpenNanos;
  private boolean probing;
  private int opened;
  private final long[] bucketStart = new long[BUCKETS];
  private final int[] bucketAttempts = new int[BUCKETS];
  private final int[] bucketFailures = new int[BUCKETS];

  public CircuitBreaker(BreakerPolicy policy) {
    this.policy = policy;
    this.nextOpenNanos = policy.openNanos();
    java.util.Arrays.fill(bucketStart, Long.MIN_VALUE);
  }

  /** The state at {@code nowNanos}: an open circuit whose time ended is half-open. */
  public State state(long nowNanos) {
    return state == State.OPEN && nowNanos >= openUntilNanos ? State.HALF_OPEN : state;
  }

  /**
   * The earliest time a request may start: {@link Long#MIN_VALUE} when closed or when a probe may
   * go, the end of the open time when open, {@link Long#MAX_VALUE} while a probe runs.
   */
  public long admitsAtNanos() {
    return switch (state) {
      case CLOSED -> Long.MIN_VALUE;
      case OPEN -> openUntilNanos;
      case HALF_OPEN -> probing ? Long.MAX_VALUE : Long.MIN_VALUE;
    };
  }

  /** False while open (its time not ended): the deployment should not be counted on. */
  public boolean available(long nowNanos) {
    return state(nowNanos) != State.OPEN;
  }

  /** A request starts here; if the circuit is not closed it is the probe. */
  public void onStart(long nowNanos) {
    if (state(nowNanos) == State.HALF_OPEN) {
      state = State.HALF_OPEN;
      probing = true;
    }
  }

  /** The upstream answered (any answer that is not a failure, rate limits aside). */
  public void onSuccess(long nowNanos) {
    record(nowNanos, false);
    consecutiveFailures = 0;
    if (state == State.HALF_OPEN) {
      close();
    }
  }

  /** The attempt failed: connection failure, timeout, a 5xx, a stream that broke. */
  public void onFailure(long nowNanos) {
    record(nowNanos, true);
    consecutiveFailures++;
    switch (state) {
      case HALF_OPEN -> open(nowNanos);
      case CLOSED -> {
        if (consecutiveFailures >= policy.consecutiveFailures() || errorRateExceeded(nowNanos)) {
          open(nowNanos);
        }
      }
      case OPEN -> {}
    }
  }

  /** The attempt told nothing about health (the upstream's rate limit): the next probe may go. */
  public void onNeutral() {
    probing = false;
  }

  /**
   * An active health check passed: an open circuit's open time ends now, so that the next request
   * probes the deployment without waiting out the rest of it. A closed circuit is unaffected.
   */
  public void onCheckPassed(long nowNanos) {
    if (state == State.OPEN && nowNanos < openUntilNanos) {
      openUntilNanos = nowNanos;
    }
  }

  /** Closes the circuit now, forgetting its history (an operator re-enabled the deployment). */
  public void reset() {
    close();
  }

  /** When the circuit opens or opened last: the end of its open time, for the admin view. */
  public long openUntilNanos() {
    return openUntilNanos;
  }

  /** Failures in a row, for the admin view. */
  public int consecutiveFailures() {
    return consecutiveFailures;
  }

  /** How many times the circuit opened since it was last closed by a probe (or created). */
  public int timesOpened() {
    return opened;
  }

  /** Attempts and failures within the window, for the admin view: {@code {attempts, failures}}. */
  public int[] window(long nowNanos) {
    int attempts = 0;
    int failures = 0;
    for (int i = 0; i < BUCKETS; i++) {
      if (bucketStart[i] != Long.MIN_VALUE && nowNanos - bucketStart[i] < policy.windowNanos()) {
        attempts += bucketAttempts[i];
        failures += bucketFailures[i];
      }
    }
    return new int[] {attempts, failures};
  }

  private boolean errorRateExceeded(long nowNanos) {
    if (policy.errorRate() <= 0) {
      return false;
    }
    int[] window = window(nowNanos);
    return window[0] >= policy.minRequests() && window[1] >= policy.errorRate() * window[0];
  }

  private void record(long nowNanos, boolean failure) {
    long bucketNanos = bucketNanos();
    long start = Math.floorDiv(nowNanos, bucketNanos) * bucketNanos;
    int i = (int) Math.floorMod(Math.floorDiv(nowNanos, bucketNanos), (long) BUCKETS);
    if (bucketStart[i] != start) {
      bucketStart[i] = start;
      bucketAttempts[i] = 0;
      bucketFailures[i] = 0;
    }
    bucketAttempts[i]++;
    if (failure) {
      bucketFailures[i]++;
    }
  }

  private long bucketNanos() {
    return Math.max(1, policy.windowNanos() / BUCKETS);
  }

  private void open(long nowNanos) {
    state = State.OPEN;
    probing = false;
    openUntilNanos = nowNanos + nextOpenNanos;
    nextOpenNanos = Math.min(policy.maxOpenNanos(), nextOpenNanos * 2);
    opened++;
  }

  private void close() {
    state = State.CLOSED;
    probing = false;
    consecutiveFailures = 0;
    nextOpenNanos = policy.openNanos();
    opened = 0;
    java.util.Arrays.fill(bucketStart, Long.MIN_VALUE);
  }
}
