package dev.penstock.jmh;

import dev.penstock.core.limit.WindowLimiter;
import dev.penstock.server.tenant.Allowances;
import dev.penstock.server.tenant.KeyRepository;
import dev.penstock.server.tenant.Pricing;
import dev.penstock.server.tenant.VirtualKey;
import dev.penstock.server.tenant.VirtualKeys;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a virtual key costs a request, on the request's thread: {@code keyed} is the work the caller
 * and tenant stages add for a key with its own RPM/TPM and a budget — the key's HMAC and lookup,
 * the RPM/TPM charge, the budget hold, the cost from the pricing table, and settling both — and
 * {@code open} the part of it an open-mode request does too (its cost). The ledger's write is on
 * another thread (scripts/ledger-bench.sh measures it). One request per operation, each 1 ms after
 * the last, so that the key's minute holds 60,000 charges, as at 1,000 req/s.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TenantCheckBenchmark {
  private static final String MODEL = "gpt-4o-mini";

  private VirtualKeys keys;
  private Allowances allowances;
  private final Pricing pricing = Pricing.defaults();
  private String key = "";
  private long nowNanos;

  @Setup
  public void setUp() {
    Clock clock = Clock.systemUTC();
    keys = new VirtualKeys(new MapKeys(), "b".repeat(32).getBytes(StandardCharsets.UTF_8), clock);
    allowances = new Allowances(clock);
    key =
        keys.create(
                new VirtualKey(
                    "",
                    "bench",
                    "",
                    "",
                    List.of(),
                    1_000_000_000L,
                    1_000_000_000_000L,
                    "high",
                    1_000_000_000,
                    0,
                    null,
                    Map.of(),
                    Instant.EPOCH,
                    null))
            .key();
  }

  @Benchmark
  public double keyed() {
    VirtualKey k = keys.authenticate(key).orElseThrow();
    nowNanos += 1_000_000;
    WindowLimiter.Decision charge = allowances.acquire(k, nowNanos, 44 + 256);
    Allowances.Hold hold =
        java.util.Objects.requireNonNull(
            allowances.hold(k, pricing.worstCase(MODEL, MODEL, 44, 256)).hold());
    double cost = pricing.cost(MODEL, MODEL, 44, 0, 20);
    hold.settle(cost);
    allowances.settleCharge(k.id(), charge.sequence(), 64);
    return cost + charge.remainingRequests();
  }

  @Benchmark
  public double open() {
    return pricing.cost(MODEL, MODEL, 44, 0, 20);
  }

  /** Keys in a map: the benchmark measures the request path, which never reads the store. */
  private static final class MapKeys implements KeyRepository {
    private final Map<String, VirtualKey> byId = new ConcurrentHashMap<>();

    @Override
    public void insert(VirtualKey k) {
      byId.put(k.id(), k);
    }

    @Override
    public void update(VirtualKey k) {
      byId.put(k.id(), k);
    }

    @Override
    public boolean revoke(String id, Instant at) {
      return false;
    }

    @Override
    public Optional<VirtualKey> find(String id) {
      return Optional.ofNullable(byId.get(id));
    }

    @Override
    public List<VirtualKey> all() {
      return List.copyOf(byId.values());
    }
  }
}
