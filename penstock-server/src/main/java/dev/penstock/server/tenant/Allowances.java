package dev.penstock.server.tenant;

import dev.penstock.core.limit.WindowLimiter;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What each virtual key may still spend: requests and tokens in the current minute (its own RPM and
 * TPM, counted by core's {@link WindowLimiter}) and US dollars in the current UTC day and month
 * (its budgets).
 *
 * <p>Budgets are enforced by reservation: before a request is sent its worst-case cost is held;
 * when it ends the hold is replaced by its real cost. A request is admitted while what the key has
 * spent plus what it holds is still under the budget, so concurrent requests overshoot a budget by
 * at most one request's worst-case cost (the last one admitted).
 *
 * <p>Spend is counted from the ledger at start ({@link #spent}) and then in memory; the ledger is
 * the record, this is the fast path. A request is counted in the day it ends. Thread-safe: each
 * key's state has its own lock.
 */
public final class Allowances {
  private static final long MINUTE_NANOS = 60_000_000_000L;

  private final Clock clock;
  private final Map<String, KeyState> states = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicInteger openHolds =
      new java.util.concurrent.atomic.AtomicInteger();
  private final long windowNanos;

  public Allowances(Clock clock) {
    this(clock, MINUTE_NANOS);
  }

  /**
   * @param windowNanos the window a key's RPM and TPM are counted over: a minute (tests shorten it)
   */
  public Allowances(Clock clock, long windowNanos) {
    this.clock = clock;
    this.windowNanos = windowNanos;
  }

  /** Budget holds not yet settled: 0 whenever no request is in flight (tests check it). */
  public int openHolds() {
    return openHolds.get();
  }

  /**
   * Starts from what the ledger holds: cost per key since the start of the current UTC day and
   * month.
   */
  public void spent(Map<String, Double> today, Map<String, Double> thisMonth) {
    Instant now = clock.instant();
    LocalDate day = LocalDate.ofInstant(now, ZoneOffset.UTC);
    for (Map.Entry<String, Double> e : thisMonth.entrySet()) {
      KeyState state = state(e.getKey());
      synchronized (state) {
        state.roll(day);
        state.month += e.getValue();
        state.today += today.getOrDefault(e.getKey(), 0.0);
        state.fromLedgerMonth = state.month;
        state.fromLedgerToday = state.today;
      }
    }
  }

  /** Start of the current UTC day, for reading the ledger. */
  public static Instant startOfDay(Instant now) {
    return LocalDate.ofInstant(now, ZoneOffset.UTC).atStartOfDay(ZoneOffset.UTC).toInstant();
  }

  /** Start of the current UTC month, for reading the ledger. */
  public static Instant startOfMonth(Instant now) {
    return YearMonth.from(LocalDate.ofInstant(now, ZoneOffset.UTC))
        .atDay(1)
        .atStartOfDay(ZoneOffset.UTC)
        .toInstant();
  }

  /**
   * Charges one request of {@code tokens} to the key's own RPM and TPM if it fits; the decision
   * says the key's standing either way (its {@code x-ratelimit-*} headers).
   */
  public WindowLimiter.Decision acquire(VirtualKey key, long nowNanos, long tokens) {
    KeyState state = state(key.id());
    WindowLimiter limiter;
    synchronized (state) {
      if (state.limiter == null) {
        state.limiter = new WindowLimiter(key.rpm(), key.tpm(), windowNanos);
        state.limiter.elsewhere(state.elsewhereRequests, state.elsewhereTokens);
      } else if (state.rpm != key.rpm() || state.tpm != key.tpm()) {
        state.limiter.reconfigure(key.rpm(), key.tpm()); // changed by PATCH: at once
      }
      state.rpm = key.rpm();
      state.tpm = key.tpm();
      limiter = state.limiter;
    }
    return limiter.tryAcquire(nowNanos, tokens);
  }

  /** Replaces a charge's estimated tokens with the real usage ({@code < 0}: unknown). */
  public void settleCharge(String keyId, long sequence, long actualTokens) {
    WindowLimiter limiter = state(keyId).limiter;
    if (limiter != null) {
      limiter.settle(sequence, actualTokens);
    }
  }

  /** Takes back a charge (its request and tokens) whose request never reached an upstream. */
  public void cancelCharge(String keyId, long sequence) {
    WindowLimiter limiter = state(keyId).limiter;
    if (limiter != null) {
      limiter.cancel(sequence);
    }
  }

  /** Counts the cost of a request of a key that holds no budget (its spend is still shown). */
  public void spend(String keyId, double cost) {
    if (cost > 0) {
      KeyState state = state(keyId);
      synchronized (state) {
        add(state, cost);
      }
    }
  }

  /** Counts {@code cost} in the state's current day and month; the caller holds its lock. */
  private void add(KeyState state, double cost) {
    state.roll(LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC));
    state.today += cost;
    state.month += cost;
  }

  /** Requests charged to the key's own RPM in its current window (0 for a key without limits). */
  public long windowRequests(String keyId, long nowNanos) {
    WindowLimiter limiter = state(keyId).limiter;
    return limiter == null ? 0 : limiter.windowRequests(nowNanos);
  }

  /** A budget hold: settle it exactly once, with the real cost. */
  public final class Hold {
    private final KeyState state;
    private final double amount;
    private boolean settled;

    private Hold(KeyState state, double amount) {
      this.state = state;
      this.amount = amount;
    }

    /** Replaces the hold by the request's real cost (0 when it cost nothing or never ran). */
    public void settle(double cost) {
      synchronized (state) {
        if (settled) {
          throw new IllegalStateException("a budget hold is settled once");
        }
        settled = true;
        openHolds.decrementAndGet();
        state.reserved -= amount;
        add(state, cost);
      }
    }
  }

  /**
   * Holds {@code worstCase} dollars of the key's budgets, or names the budget that is used up
   * ({@code "daily"} or {@code "monthly"}) and holds nothing.
   */
  public HoldResult hold(VirtualKey key, double worstCase) {
    KeyState state = state(key.id());
    synchronized (state) {
      state.roll(LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC));
      double today = state.today + state.othersToday;
      double month = state.month + state.othersMonth;
      if (key.budgetUsdDaily() > 0 && today + state.reserved >= key.budgetUsdDaily()) {
        return new HoldResult(null, "daily", key.budgetUsdDaily(), today);
      }
      if (key.budgetUsdMonthly() > 0 && month + state.reserved >= key.budgetUsdMonthly()) {
        return new HoldResult(null, "monthly", key.budgetUsdMonthly(), month);
      }
      double amount = Math.max(0, worstCase);
      state.reserved += amount;
      openHolds.incrementAndGet();
      return new HoldResult(new Hold(state, amount), "", 0, 0);
    }
  }

  /**
   * The outcome of {@link #hold}: a hold, or the budget that refused it.
   *
   * @param hold the hold, or null when refused
   * @param refusedBy {@code daily} or {@code monthly} when refused
   */
  public record HoldResult(
      @org.jspecify.annotations.Nullable Hold hold,
      String refusedBy,
      double budgetUsd,
      double spentUsd) {}

  /** What the key has spent in the current UTC day. */
  public double spentToday(String keyId) {
    return spent(keyId, true);
  }

  /** What the key has spent in the current UTC month. */
  public double spentThisMonth(String keyId) {
    return spent(keyId, false);
  }

  private double spent(String keyId, boolean today) {
    KeyState state = states.get(keyId);
    if (state == null) {
      return 0;
    }
    synchronized (state) {
      state.roll(LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC));
      return today ? state.today + state.othersToday : state.month + state.othersMonth;
    }
  }

  /**
   * What this instance itself charged to a key: its window's requests and tokens, and what it spent
   * in the current UTC day and month since it started (cluster mode tells the others).
   */
  public record Own(
      long windowRequests, long windowTokens, double sinceStartToday, double sinceStartMonth) {}

  /** This instance's own use of {@code keyId}; see {@link Own}. */
  public Own own(String keyId, long nowNanos) {
    KeyState state = state(keyId);
    WindowLimiter limiter = state.limiter;
    synchronized (state) {
      state.roll(LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC));
      return new Own(
          limiter == null ? 0 : limiter.windowRequests(nowNanos),
          limiter == null ? 0 : limiter.windowTokens(nowNanos),
          state.today - state.fromLedgerToday,
          state.month - state.fromLedgerMonth);
    }
  }

  /**
   * Cluster mode: what the other instances charged to {@code keyId} — in their windows, and spent
   * today and this month beyond what this instance read from the shared ledger at its start. Their
   * use counts against the key's RPM, TPM and budgets here as this instance's own does.
   */
  public void elsewhere(
      String keyId, long requests, long tokens, double spentToday, double spentMonth) {
    KeyState state = state(keyId);
    synchronized (state) {
      state.elsewhereRequests = requests;
      state.elsewhereTokens = tokens;
      WindowLimiter limiter = state.limiter;
      if (limiter != null) {
        limiter.elsewhere(requests, tokens);
      } // else applied when the key's first request here makes its limiter
      state.roll(LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC));
      state.othersToday = Math.max(0, spentToday);
      state.othersMonth = Math.max(0, spentMonth);
    }
  }

  private KeyState state(String keyId) {
    return states.computeIfAbsent(keyId, id -> new KeyState());
  }

  private static final class KeyState {
    @org.jspecify.annotations.Nullable WindowLimiter limiter;
    long rpm;
    long tpm;
    @org.jspecify.annotations.Nullable LocalDate day;
    double today;
    double month;
    double reserved;

    /** Of {@link #today} and {@link #month}, what the ledger held at start. */
    double fromLedgerToday;

    double fromLedgerMonth;

    /** What other instances of a cluster charged in their windows (cluster mode; 0 otherwise). */
    long elsewhereRequests;

    long elsewhereTokens;

    /** What other instances of a cluster spent (cluster mode; 0 otherwise). */
    double othersToday;

    double othersMonth;

    /** Starts a new day (and month) when the date has moved on. */
    void roll(LocalDate now) {
      LocalDate current = day;
      if (current == null) {
        day = now;
        return;
      }
      if (!current.equals(now)) {
        today = 0;
        fromLedgerToday = 0;
        othersToday = 0;
        if (!YearMonth.from(current).equals(YearMonth.from(now))) {
          month = 0;
          fromLedgerMonth = 0;
          othersMonth = 0;
        }
        day = now;
      }
    }
  }
}
