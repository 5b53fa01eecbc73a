package dev.penstock.core.limit;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * Cluster mode's gate on one deployment (SPEC 13, docs/cluster.md): the share of the deployment's
 * limits this instance may use, beside the limiter's own pacing and window, which still apply.
 *
 * <h2>Leased</h2>
 *
 * <p>While the cluster's coordinator (Redis) answers, capacity comes in {@linkplain #lease leases}:
 * a run of start slots from the cluster's one schedule for the deployment ({@code first}, {@code
 * first + interval}, ...). A request may start at a slot's time or up to {@code validity} after it;
 * a slot not used by then is lost (it was counted as used by the cluster, which is always safe). A
 * lease carries the tokens of the requests it was asked for; they last as long as its slots. The
 * cluster counts every slot it hands out in its own rolling window, so no combination of instances
 * can exceed the limits, and spaces the slots by the deployment's rate, so requests to the upstream
 * stay smooth however many instances send them.
 *
 * <h2>Fallback</h2>
 *
 * <p>While the coordinator cannot be reached ({@link #lost}), and before it first answered, this
 * instance uses a fixed share: {@code 1/instances} of what the cluster had not used at its last
 * answer, paced at {@code 1/instances} of the rate, over its own rolling window of {@code span}.
 * The cluster's last known use counts as still there until a whole window after that answer (at
 * start, before any answer, the whole limit does). So the instances, each keeping to its share,
 * stay under the limits together without talking. Starts made meanwhile are reported at the next
 * answer ({@link #unreportedRequests}), as are refunds and the tokens an answer's usage corrected.
 *
 * <p>Pure: time is passed in. Not thread-safe: the scheduler's lock guards every call.
 */
public final class SharedCapacity {
  /**
   * How the cluster shares a deployment.
   *
   * @param instances the instances of the cluster (the fallback's divisor)
   * @param validityNanos how long after its time a leased slot may still be used
   * @param spanNanos how long the cluster counts a start in its window (the pacing span, plus the
   *     lease's reach: see the decision record)
   */
  public record Settings(int instances, long validityNanos, long spanNanos) {
    public Settings {
      if (instances < 1 || validityNanos <= 0 || spanNanos <= 0) {
        throw new IllegalArgumentException("instances, validity and span must be positive");
      }
    }
  }

  /** A lease: {@code count} slots from {@code firstNanos}, {@code intervalNanos} apart. */
  private static final class Lease {
    final long firstNanos;
    final double intervalNanos;
    final int count;
    final long validityNanos;
    int used;
    long tokensLeft;

    Lease(long firstNanos, double intervalNanos, int count, long tokens, long validityNanos) {
      this.firstNanos = firstNanos;
      this.intervalNanos = intervalNanos;
      this.count = count;
      this.tokensLeft = tokens;
      this.validityNanos = validityNanos;
    }

    long slotNanos(int index) {
      return firstNanos + (long) Math.floor(index * intervalNanos);
    }

    /** The first slot not used and not lapsed at {@code nowNanos}, or {@code count}. */
    int next(long nowNanos) {
      while (used < count && slotNanos(used) + validityNanos <= nowNanos) {
        used++; // lapsed unused: the cluster counted it, nobody may use it now
      }
      return used;
    }
  }

  private final Settings settings;
  private final ArrayDeque<Lease> leases = new ArrayDeque<>();
  private boolean connected;

  /** The cluster's use of the window at its last answer, held until {@link #residualUntilNanos}. */
  private long residualRequests;

  private long residualTokens;
  private long residualUntilNanos;

  /** This instance's starts while on the fallback, over its own window. */
  private final ReservationLog fallbackLog = new ReservationLog();

  private final Gcra fallbackPacer = new Gcra();

  /** Fallback starts not yet told to the cluster, each counting until its own expiry. */
  private final ReservationLog untold = new ReservationLog();

  /** The cluster lost its state: what the limiter started in its window is to be told. */
  private boolean reseed;

  private long unreportedRequests;
  private long unreportedTokens;
  private double shareOfRate;
  private long leasedStarts;

  /**
   * A gate that starts on the fallback: until the coordinator first answers, the cluster's use of
   * the window is taken to be the whole of {@code rpm} and {@code tpm} for one span from {@code
   * nowNanos}.
   */
  public SharedCapacity(Settings settings, long rpm, long tpm, long nowNanos) {
    this.settings = settings;
    this.residualRequests = rpm;
    this.residualTokens = tpm;
    this.residualUntilNanos = nowNanos + settings.spanNanos();
    this.shareOfRate = 1.0 / settings.instances();
  }

  public Settings settings() {
    return settings;
  }

  /** Whether capacity comes from leases (true) or from the fixed fallback share (false). */
  public boolean connected() {
    return connected;
  }

  /**
   * This instance's share of the deployment's rate, as the cluster last split it but at least
   * {@code 1/instances} (exactly that on the fallback): what the scheduler's estimates assume.
   */
  public double shareOfRate() {
    return shareOfRate;
  }

  /**
   * Installs a lease the coordinator granted, and its view of the window.
   *
   * @param firstNanos the first slot's time on this instance's clock
   * @param intervalNanos the time between slots
   * @param count slots granted (0: none now)
   * @param tokens tokens granted with them
   * @param share this instance's share of the rate in the cluster's split (0 to 1)
   * @param windowRequests requests the cluster counts in its window, this lease's included
   * @param windowTokens tokens the cluster counts in its window
   */
  public void lease(
      long nowNanos,
      long firstNanos,
      double intervalNanos,
      int count,
      long tokens,
      double share,
      long windowRequests,
      long windowTokens) {
    connected = true;
    // At least an equal share: one that asked for little (or nothing, idle) gets more as soon as
    // it asks for more, and the scheduler's estimates must not reject its next burst.
    shareOfRate = Math.max(1.0 / settings.instances(), Math.min(1.0, share));
    residualRequests = windowRequests;
    residualTokens = windowTokens;
    residualUntilNanos = nowNanos + settings.spanNanos();
    dropLapsed(nowNanos);
    if (count > 0) {
      leases.add(new Lease(firstNanos, intervalNanos, count, tokens, settings.validityNanos()));
    }
  }

  /**
   * The coordinator cannot be reached: from now on the fixed share, counting the cluster's last
   * known use of the window as still there for one span after that answer. Leases held stay usable
   * until they lapse (the cluster counted them).
   */
  public void lost(long nowNanos) {
    if (connected) {
      connected = false;
      shareOfRate = 1.0 / settings.instances();
    }
  }

  /**
   * Corrections not yet told to the coordinator: requests given back (negative) and tokens an
   * answer's usage corrected (either sign). Starts are told with their times ({@link #untold}).
   */
  public long unreportedRequests() {
    return unreportedRequests;
  }

  /** Tokens not yet told to the coordinator, like {@link #unreportedRequests}. */
  public long unreportedTokens() {
    return unreportedTokens;
  }

  /** The coordinator took {@code requests} and {@code tokens} of what was unreported. */
  public void reported(long requests, long tokens) {
    unreportedRequests -= requests;
    unreportedTokens -= tokens;
  }

  /**
   * The coordinator lost its state (it restarted: Redis keeps nothing on disk): everything this
   * instance started in its window is to be told again ({@link #reseeding}), in place of anything
   * unreported.
   */
  public void reseed() {
    reseed = true;
    unreportedRequests = 0;
    unreportedTokens = 0;
    untold.clear();
  }

  /** Whether the next report is to carry every start of the limiter's window ({@link #reseed}). */
  public boolean reseeding() {
    return reseed;
  }

  /**
   * Fallback starts not yet told, as {@code [nanos they go on counting, requests, tokens]} groups
   * (rounded up to {@code groupNanos}): the cluster counts each for as long as it is left.
   */
  public java.util.List<long[]> untold(long nowNanos, long groupNanos) {
    untold.expire(nowNanos);
    return untold.remaining(nowNanos, groupNanos);
  }

  /**
   * The coordinator took the starts told with the last report: {@code entries} fallback starts (the
   * oldest; later ones are told next time), or, after a {@link #reseed}, the whole window.
   */
  public void told(long entries, boolean wholeWindow) {
    if (wholeWindow) {
      reseed = false;
      untold.clear(); // the window told held them
    } else {
      untold.dropOldest(entries);
    }
  }

  /** Leased slots not yet used and not lapsed. */
  public int slotsLeft(long nowNanos) {
    dropLapsed(nowNanos);
    int left = 0;
    for (Lease lease : leases) {
      left += lease.count - lease.next(nowNanos);
    }
    return left;
  }

  /** Leased tokens not yet used, of leases not lapsed. */
  public long tokensLeft(long nowNanos) {
    dropLapsed(nowNanos);
    long left = 0;
    for (Lease lease : leases) {
      left += lease.tokensLeft;
    }
    return left;
  }

  /** The time of the last leased slot held, or {@code nowNanos} when none is held. */
  public long leasedUntilNanos(long nowNanos) {
    dropLapsed(nowNanos);
    Lease last = leases.peekLast();
    return last == null ? nowNanos : Math.max(nowNanos, last.slotNanos(last.count - 1));
  }

  /** Requests started on leased slots since this gate was made (for the operator's figures). */
  public long leasedStarts() {
    return leasedStarts;
  }

  /**
   * The earliest time, not before {@code nowNanos}, at which this gate lets a request charged
   * {@code tokens} start, if nothing changes; {@code rpm} and {@code tpm} are the deployment's
   * limits in force. Leased: the next slot when the leases hold the tokens; otherwise {@code
   * nowNanos + validity}, a time to ask again (a new lease wakes the scheduler itself).
   */
  public long startTimeNanos(long nowNanos, long tokens, long rpm, long tpm) {
    dropLapsed(nowNanos);
    long leased = leasedStart(nowNanos, tokens);
    if (leased != DeploymentLimiter.NEVER) {
      return leased;
    }
    if (connected) {
      return nowNanos + settings.validityNanos();
    }
    return fallbackStart(nowNanos, tokens, rpm, tpm);
  }

  private long leasedStart(long nowNanos, long tokens) {
    long tokensHeld = 0;
    for (Lease lease : leases) {
      tokensHeld += lease.tokensLeft;
    }
    if (tokensHeld < tokens) {
      return DeploymentLimiter.NEVER;
    }
    for (Lease lease : leases) {
      int next = lease.next(nowNanos);
      if (next < lease.count) {
        return Math.max(nowNanos, lease.slotNanos(next));
      }
    }
    return DeploymentLimiter.NEVER;
  }

  private long fallbackStart(long nowNanos, long tokens, long rpm, long tpm) {
    fallbackLog.expire(nowNanos);
    long held = nowNanos < residualUntilNanos ? 1 : 0;
    long allowRequests = (rpm - held * residualRequests) / settings.instances();
    long allowTokens = (tpm - held * residualTokens) / settings.instances();
    if (held == 1 && (allowRequests < 1 || allowTokens < tokens)) {
      return residualUntilNanos; // not before the cluster's last known use leaves the window
    }
    allowRequests = Math.max(1, allowRequests);
    if (allowTokens < tokens) {
      return DeploymentLimiter.NEVER; // larger than this instance's share of the TPM
    }
    long paced = Math.max(nowNanos, fallbackPacer.allowedAtNanos());
    long fit =
        fallbackLog.fitTimeNanos(
            nowNanos, tokens, allowRequests, allowTokens, ReservationLog.Phantom.NONE);
    return Math.max(paced, fit);
  }

  /**
   * Charges one start the caller found allowed at {@code nowNanos} ({@link #startTimeNanos}): a
   * leased slot and its tokens, or a start of the fallback share.
   */
  public void consume(long nowNanos, long tokens, long rpm, long tpm) {
    dropLapsed(nowNanos);
    if (leasedStart(nowNanos, tokens) <= nowNanos) {
      for (Lease lease : leases) {
        int next = lease.next(nowNanos);
        if (next < lease.count && lease.slotNanos(next) <= nowNanos) {
          lease.used = next + 1;
          break;
        }
      }
      long owed = tokens;
      for (Lease lease : leases) {
        long take = Math.min(owed, lease.tokensLeft);
        lease.tokensLeft -= take;
        owed -= take;
      }
      leasedStarts++;
      return;
    }
    // The fallback share: counted here, told to the cluster when it answers again.
    fallbackLog.add(nowNanos + settings.spanNanos(), tokens);
    fallbackPacer.consume(
        nowNanos, 1, (double) settings.spanNanos() * settings.instances() / Math.max(1, rpm));
    untold.add(nowNanos + settings.spanNanos(), tokens);
  }

  /**
   * Corrects what a start counted, to be told to the cluster: a request that never reached the
   * upstream gives back one request and its tokens; an answer's usage corrects the tokens.
   */
  public void adjust(long requests, long tokens) {
    unreportedRequests += requests;
    unreportedTokens += tokens;
  }

  private void dropLapsed(long nowNanos) {
    for (Iterator<Lease> it = leases.iterator(); it.hasNext(); ) {
      Lease lease = it.next();
      if (lease.next(nowNanos) >= lease.count) {
        it.remove();
      }
    }
  }
}
