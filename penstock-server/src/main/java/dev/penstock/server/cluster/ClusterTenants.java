package dev.penstock.server.cluster;

import dev.penstock.server.tenant.Allowances;
import dev.penstock.server.tenant.Tenants;
import dev.penstock.server.tenant.VirtualKey;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cluster mode's virtual keys (docs/cluster.md#virtual-keys-across-instances): every second each
 * instance tells Redis what it charged to each limited key — the requests and tokens in its window,
 * what it spent today and this month — and hears what the others did, which then counts against the
 * key's RPM, TPM and budgets here ({@link Allowances#elsewhere}). A key's limits hold across the
 * cluster up to what the other instances charged since they last told (about a second of their
 * traffic, plus what they hold for requests in flight).
 *
 * <p>Spend read from a shared ledger at start already holds what other instances spent before; so
 * with shared storage, the spend they report is counted from what they had reported at this
 * instance's first call (a baseline per instance), not from their start.
 *
 * <p>Used by the lease thread only; not thread-safe.
 */
final class ClusterTenants {
  /** Keys told per call. */
  private static final int BATCH = 500;

  private static final String SCRIPT = load();

  private final Tenants tenants;
  private final String instance;
  private final String keyPrefix;
  private final boolean sharedLedger;
  private final long windowMillis;

  /** Per key and other instance, the spend it had reported at the first call that saw it. */
  private final Map<String, double[]> baselines = new HashMap<>();

  private boolean first = true;
  private String baselineDay = "";
  private String baselineMonth = "";
  private String sha = "";

  ClusterTenants(
      Tenants tenants, String instance, String cluster, boolean sharedLedger, long windowMillis) {
    this.tenants = tenants;
    this.instance = instance;
    this.keyPrefix = "penstock:{" + cluster + "}:k:";
    this.sharedLedger = sharedLedger;
    this.windowMillis = windowMillis;
  }

  /**
   * Tells and hears once, for every live key that has limits or budgets; returns the calls made.
   */
  int sync(RedisCommands<String, String> redis, long nowNanos, Instant wallNow) {
    List<VirtualKey> limited = new ArrayList<>();
    for (VirtualKey key : tenants.keys().all()) {
      if (key.liveAt(wallNow)
          && (key.rpm() > 0
              || key.tpm() > 0
              || key.budgetUsdDaily() > 0
              || key.budgetUsdMonthly() > 0)) {
        limited.add(key);
      }
    }
    String day = LocalDate.ofInstant(wallNow, ZoneOffset.UTC).toString();
    String month = YearMonth.from(LocalDate.ofInstant(wallNow, ZoneOffset.UTC)).toString();
    if (!day.equals(baselineDay)) {
      baselines.clear(); // a new day: this instance's ledger baseline is a new day's too
      baselineDay = day;
      first = true;
    }
    if (!month.equals(baselineMonth)) {
      baselineMonth = month;
    }
    int calls = 0;
    Allowances allowances = tenants.allowances();
    for (int from = 0; from < limited.size(); from += BATCH) {
      List<VirtualKey> batch = limited.subList(from, Math.min(limited.size(), from + BATCH));
      List<String> keys = new ArrayList<>(batch.size());
      List<String> args = new ArrayList<>(4 + 4 * batch.size());
      args.add(instance);
      args.add(Long.toString(windowMillis));
      args.add(day);
      args.add(month);
      for (VirtualKey key : batch) {
        keys.add(keyPrefix + key.id());
        Allowances.Own own = allowances.own(key.id(), nowNanos);
        args.add(Long.toString(own.windowRequests()));
        args.add(Long.toString(own.windowTokens()));
        args.add(Double.toString(own.sinceStartToday()));
        args.add(Double.toString(own.sinceStartMonth()));
      }
      List<Object> answer = eval(redis, keys, args);
      calls++;
      int o = 0;
      for (VirtualKey key : batch) {
        long requests = (long) Double.parseDouble(String.valueOf(answer.get(o++)));
        long tokens = (long) Double.parseDouble(String.valueOf(answer.get(o++)));
        double today = 0;
        double thisMonth = 0;
        for (String entry = String.valueOf(answer.get(o++));
            !entry.isEmpty();
            entry = String.valueOf(answer.get(o++))) {
          String[] p = entry.split(",", -1);
          double[] seen = {Double.parseDouble(p[1]), Double.parseDouble(p[2])};
          double[] base = baselines.get(key.id() + "|" + p[0]);
          if (base == null) {
            // What an instance reported when first heard: with a shared ledger, the part from
            // before this instance's start is in the ledger already.
            base = sharedLedger && first ? seen.clone() : new double[2];
            baselines.put(key.id() + "|" + p[0], base);
          }
          if (seen[0] < base[0] || seen[1] < base[1]) {
            base[0] = Math.min(base[0], seen[0]); // it restarted, or its day rolled: from here
            base[1] = Math.min(base[1], seen[1]);
          }
          today += seen[0] - base[0];
          thisMonth += seen[1] - base[1];
        }
        allowances.elsewhere(key.id(), requests, tokens, today, thisMonth);
      }
    }
    first = false;
    return calls;
  }

  private List<Object> eval(
      RedisCommands<String, String> redis, List<String> keys, List<String> args) {
    String[] k = keys.toArray(String[]::new);
    String[] a = args.toArray(String[]::new);
    if (sha.isEmpty()) {
      sha = redis.scriptLoad(SCRIPT);
    }
    try {
      return redis.evalsha(sha, ScriptOutputType.MULTI, k, a);
    } catch (io.lettuce.core.RedisNoScriptException e) {
      sha = redis.scriptLoad(SCRIPT);
      return redis.evalsha(sha, ScriptOutputType.MULTI, k, a);
    }
  }

  private static String load() {
    try (InputStream in = ClusterTenants.class.getResourceAsStream("tenants.lua")) {
      if (in == null) {
        throw new IllegalStateException("tenants.lua is missing from the class path");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read tenants.lua", e);
    }
  }
}
