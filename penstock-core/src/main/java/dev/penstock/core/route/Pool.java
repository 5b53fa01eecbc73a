package dev.penstock.core.route;

import dev.penstock.core.limit.DeploymentLimiter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The deployments that serve one public model, and the choice among them.
 *
 * <h2>Design</h2>
 *
 * <p>Deployments are kept sorted by priority tier. A request goes to the lowest tier that has a
 * deployment able to start it now; a higher tier is used only when the lower ones are full or
 * unusable. Within a tier, the choice is the deployment with the most headroom, scaled by its
 * weight: headroom is how long the deployment has been ready ({@code now - readyAt}, capped at one
 * window), i.e. how much of its pacing schedule lies unused. Taking the most idle deployment
 * spreads requests evenly, in proportion to each deployment's capacity, rather than filling one key
 * and then the next.
 *
 * <p>The ready time of each deployment is cached in a primitive array, refreshed by the scheduler
 * after every change to that deployment ({@link #refresh}); a ready time is an absolute instant, so
 * the cache stays exact while time passes (or errs late, when upstream-reported use expires).
 * Choosing is then one pass over a {@code long[]} — about a nanosecond per deployment — and the
 * limiter is consulted only for the winner, to check that this request's token cost fits its
 * window; a winner that cannot take the tokens is passed over for that one call. {@link
 * #earliestStartNanos} judges by the same two facts, so that a wake-up the scheduler plans always
 * finds the start it expected.
 *
 * <p>Not thread-safe; the scheduler's lock guards it.
 */
public final class Pool {
  private final String model;
  private final DeploymentLimiter[] limiters;
  private final int[] tiers;
  private final double[] weights;
  private final long[] readyAt;

  /** One deployment of the pool, as configured. */
  public record Member(DeploymentLimiter limiter, int tier, double weight) {}

  public Pool(String model, List<Member> members, long nowNanos) {
    this.model = model;
    List<Member> sorted = new ArrayList<>(members);
    sorted.sort(Comparator.comparingInt(Member::tier));
    int n = sorted.size();
    limiters = new DeploymentLimiter[n];
    tiers = new int[n];
    weights = new double[n];
    readyAt = new long[n];
    for (int i = 0; i < n; i++) {
      Member m = sorted.get(i);
      if (m.weight() <= 0) {
        throw new IllegalArgumentException("weight must be positive");
      }
      limiters[i] = m.limiter();
      tiers[i] = m.tier();
      weights[i] = m.weight();
      readyAt[i] = m.limiter().readyAtNanos(nowNanos);
    }
  }

  public String model() {
    return model;
  }

  public int size() {
    return limiters.length;
  }

  public DeploymentLimiter limiter(int index) {
    return limiters[index];
  }

  /** Re-reads deployment {@code index}'s ready time after its state changed. */
  public void refresh(int index, long nowNanos) {
    readyAt[index] = limiters[index].readyAtNanos(nowNanos);
  }

  /** The deployment that should start a request charged {@code tokens} now, or -1 when none can. */
  public int choose(long nowNanos, long tokens) {
    return choose(nowNanos, tokens, Set.of());
  }

  /**
   * Like {@link #choose(long, long)}, passing over the deployments named in {@code avoid} (those a
   * retried request already failed on).
   */
  public int choose(long nowNanos, long tokens, Set<String> avoid) {
    int i = 0;
    while (i < limiters.length) {
      int tierEnd = i;
      while (tierEnd < limiters.length && tiers[tierEnd] == tiers[i]) {
        tierEnd++;
      }
      int chosen = chooseInTier(i, tierEnd, nowNanos, tokens, avoid);
      if (chosen >= 0) {
        return chosen;
      }
      i = tierEnd;
    }
    return -1;
  }

  private int chooseInTier(int from, int to, long nowNanos, long tokens, Set<String> avoid) {
    // A winner whose window cannot take this request's tokens yet is passed over for this call
    // only:
    // the cached ready time stays what it is for any request, so that choose and
    // earliestStartNanos always agree (see the class comment).
    boolean[] cannotFit = null;
    while (true) {
      int best =
          cannotFit == null && avoid.isEmpty()
              ? mostIdle(from, to, nowNanos)
              : mostIdleOf(from, to, nowNanos, cannotFit, avoid);
      if (best < 0) {
        return -1;
      }
      if (limiters[best].startTimeNanos(nowNanos, tokens) <= nowNanos) {
        return best;
      }
      if (cannotFit == null) {
        cannotFit = new boolean[limiters.length];
      }
      cannotFit[best] = true;
    }
  }

  /**
   * The ready deployment in {@code [from, to)} with the most weighted idle time, or -1: the pass
   * every admission makes, kept to array reads and arithmetic (no calls, no branches but the
   * comparison) so that it stays a few nanoseconds a deployment over a pool of a thousand.
   */
  private int mostIdle(int from, int to, long nowNanos) {
    long[] ready = readyAt;
    double[] weight = weights;
    int best = -1;
    double bestScore = -1;
    for (int i = from; i < to; i++) {
      long r = ready[i];
      if (r <= nowNanos) {
        long idle = nowNanos - r; // negative only by overflow, from a ready time of MIN_VALUE
        double score = weight[i] * (idle < 0 || idle > CAP_NANOS ? CAP_NANOS : idle);
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
    }
    return best;
  }

  /** {@link #mostIdle}, passing over those that cannot fit this request or are to be avoided. */
  private int mostIdleOf(
      int from, int to, long nowNanos, boolean @Nullable [] cannotFit, Set<String> avoid) {
    int best = -1;
    double bestScore = -1;
    for (int i = from; i < to; i++) {
      long ready = readyAt[i];
      if (ready <= nowNanos
          && (cannotFit == null || !cannotFit[i])
          && (avoid.isEmpty() || !avoid.contains(limiters[i].name()))) {
        long idle = nowNanos - ready;
        double score = weights[i] * (idle < 0 || idle > CAP_NANOS ? CAP_NANOS : idle);
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
    }
    return best;
  }

  /**
   * The deployment that should start a batch line charged {@code tokens} now, or -1 when none can:
   * chosen like {@link #choose}, by tier and then headroom, among those whose spare capacity takes
   * it now ({@link DeploymentLimiter#batchStartTimeNanos}). Batch lines are few next to interactive
   * requests, so this asks every limiter rather than the cache.
   */
  public int chooseBatch(long nowNanos, long tokens, Set<String> avoid) {
    int best = -1;
    double bestScore = -1;
    for (int i = 0; i < limiters.length; i++) {
      if (best >= 0 && tiers[i] != tiers[best]) {
        return best; // a lower tier had one
      }
      if ((avoid.isEmpty() || !avoid.contains(limiters[i].name()))
          && limiters[i].batchStartTimeNanos(nowNanos, tokens) <= nowNanos) {
        long idle = nowNanos - readyAt[i];
        double score = weights[i] * (idle < 0 || idle > CAP_NANOS ? 0 : idle);
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
    }
    return best;
  }

  /**
   * The earliest time any deployment not named in {@code avoid} could start a batch line charged
   * {@code tokens}, judged exactly as {@link #chooseBatch} judges.
   */
  public long earliestBatchStartNanos(long nowNanos, long tokens, Set<String> avoid) {
    long earliest = DeploymentLimiter.NEVER;
    for (DeploymentLimiter limiter : limiters) {
      if (avoid.isEmpty() || !avoid.contains(limiter.name())) {
        earliest = Math.min(earliest, limiter.batchStartTimeNanos(nowNanos, tokens));
      }
    }
    return earliest;
  }

  /** Headroom counts idle time up to one minute: beyond that every idle deployment is equal. */
  private static final long CAP_NANOS = 60_000_000_000L;

  /**
   * The earliest time any deployment not named in {@code avoid} could start a request charged
   * {@code tokens}, judged exactly as {@link #choose} judges: from the cached ready time and the
   * limiter's fit for these tokens. The two must agree — if this says "now", choose finds a
   * deployment now — or the dispatcher, woken for a start that choose then refuses, would spin.
   */
  public long earliestStartNanos(long nowNanos, long tokens, Set<String> avoid) {
    long earliest = DeploymentLimiter.NEVER;
    for (int i = 0; i < limiters.length; i++) {
      if (avoid.isEmpty() || !avoid.contains(limiters[i].name())) {
        long start = limiters[i].startTimeNanos(nowNanos, tokens);
        earliest =
            Math.min(
                earliest, start == DeploymentLimiter.NEVER ? start : Math.max(start, readyAt[i]));
      }
    }
    return earliest;
  }

  /**
   * Checks that no cached ready time is earlier than the limiter's own: a limiter's ready time only
   * moves later through an event, after which the scheduler refreshes the cache, and may move
   * earlier by itself as time passes (use reported by the upstream expires), which leaves the cache
   * late but safe.
   *
   * @throws IllegalStateException naming the deployment whose cache is wrong
   */
  public void checkInvariants(long nowNanos) {
    for (int i = 0; i < limiters.length; i++) {
      long fresh = limiters[i].readyAtNanos(nowNanos);
      if (readyAt[i] < fresh) {
        throw new IllegalStateException(
            "deployment "
                + limiters[i].name()
                + ": cached ready time "
                + readyAt[i]
                + " is before the limiter's "
                + fresh
                + " at "
                + nowNanos);
      }
      if (i > 0 && tiers[i] < tiers[i - 1]) {
        throw new IllegalStateException("deployments are not sorted by tier");
      }
    }
  }

  /**
   * When the pool could start the {@code position}-th next request (0 = the next one), if every
   * request costs {@code tokens} and nothing else changes: each deployment offers slots from its
   * ready time on, one per {@code max(time per request, tokens × time per token)}. A binary search
   * over time finds when the pool has offered {@code position + 1} slots.
   */
  public long slotTimeNanos(long nowNanos, long position, long tokens) {
    int n = limiters.length;
    long[] first = new long[n];
    double[] interval = new double[n];
    long lo = Long.MAX_VALUE;
    long hi = Long.MIN_VALUE;
    for (int i = 0; i < n; i++) {
      first[i] = limiters[i].startTimeNanos(nowNanos, tokens);
      interval[i] =
          Math.max(
              limiters[i].estimatedNanosPerRequest(),
              tokens * limiters[i].estimatedNanosPerToken());
      if (first[i] != DeploymentLimiter.NEVER) {
        lo = Math.min(lo, first[i]);
        hi = Math.max(hi, first[i] + (long) Math.ceil(interval[i] * (position + 1)));
      }
    }
    if (lo == Long.MAX_VALUE) {
      return DeploymentLimiter.NEVER;
    }
    while (lo < hi) {
      long mid = lo + (hi - lo) / 2;
      if (slotsBy(mid, first, interval) >= position + 1) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  private static long slotsBy(long t, long[] first, double[] interval) {
    long slots = 0;
    for (int i = 0; i < first.length; i++) {
      if (first[i] != DeploymentLimiter.NEVER && t >= first[i]) {
        slots += (long) ((t - first[i]) / interval[i]) + 1;
      }
    }
    return slots;
  }

  /**
   * True when some deployment could take a request charged {@code tokens} but for its {@code
   * max_concurrency}: enabled, its circuit not open, the tokens within its TPM, and as many
   * requests in flight as it allows. When such a slot frees cannot be told from rates.
   */
  public boolean concurrencyBound(long nowNanos, long tokens) {
    for (DeploymentLimiter limiter : limiters) {
      if (limiter.disabledReason() == null
          && limiter.health().available(nowNanos)
          && tokens <= limiter.tpm()
          && limiter.atConcurrencyLimit()) {
        return true;
      }
    }
    return false;
  }

  /**
   * True when some deployment is enabled and its circuit not open (it may be busy; busy is not
   * unusable).
   */
  public boolean usable(long nowNanos) {
    return hasAvailableOutside(nowNanos, Set.of());
  }

  /** True when some deployment not named in {@code avoid} is enabled and its circuit not open. */
  public boolean hasAvailableOutside(long nowNanos, Set<String> avoid) {
    for (DeploymentLimiter limiter : limiters) {
      if (limiter.disabledReason() == null
          && limiter.health().available(nowNanos)
          && !avoid.contains(limiter.name())) {
        return true;
      }
    }
    return false;
  }

  /**
   * True when some deployment is enabled: an open circuit closes again, a disabled one does not.
   */
  public boolean recoverable() {
    for (DeploymentLimiter limiter : limiters) {
      if (limiter.disabledReason() == null) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether an enabled deployment's TPM is at least {@code tokens}: a request above every one can
   * never be served. Stops at the first that takes it — usually the first — since every admission
   * asks; {@link #largestTpm} walks them all for the refusal's message.
   */
  public boolean anyTpmTakes(long tokens) {
    for (DeploymentLimiter limiter : limiters) {
      if (limiter.disabledReason() == null && limiter.tpm() >= tokens) {
        return true;
      }
    }
    return false;
  }

  /** The largest TPM among enabled deployments: a request above it can never be served. */
  public long largestTpm() {
    long largest = 0;
    for (DeploymentLimiter limiter : limiters) {
      if (limiter.disabledReason() == null) {
        largest = Math.max(largest, limiter.tpm());
      }
    }
    return largest;
  }
}
