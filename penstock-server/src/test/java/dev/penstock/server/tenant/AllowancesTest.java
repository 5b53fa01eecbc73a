package dev.penstock.server.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.core.limit.WindowLimiter;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AllowancesTest {
  private final VirtualKeysTest.MutableClock clock =
      new VirtualKeysTest.MutableClock(Instant.parse("2026-12-31T23:00:00Z"));
  private final Allowances allowances = new Allowances(clock);

  private static VirtualKey key(double daily, double monthly) {
    return new VirtualKey(
        "key_1",
        "k",
        "h",
        "abcd",
        List.of(),
        2,
        0,
        "high",
        daily,
        monthly,
        null,
        Map.of(),
        Instant.EPOCH,
        null);
  }

  @Test
  void concurrentRequestsOvershootABudgetByAtMostOneWorstCase() {
    VirtualKey key = key(1.00, 0);
    Allowances.HoldResult first = allowances.hold(key, 0.60);
    Allowances.HoldResult second = allowances.hold(key, 0.60); // 0.60 held < 1.00: admitted
    Allowances.HoldResult third = allowances.hold(key, 0.60); // 1.20 held: refused
    assertThat(first.hold()).isNotNull();
    assertThat(second.hold()).isNotNull();
    assertThat(third.hold()).isNull();
    assertThat(third.refusedBy()).isEqualTo("daily");
    assertThat(allowances.openHolds()).isEqualTo(2);

    first.hold().settle(0.10); // it cost far less than its worst case
    second.hold().settle(0.20);
    assertThat(allowances.openHolds()).isZero();
    assertThat(allowances.spentToday("key_1"))
        .isEqualTo(0.30, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(allowances.hold(key, 0.60).hold()).isNotNull();
  }

  @Test
  void aHoldIsSettledOnce() {
    Allowances.Hold hold = allowances.hold(key(1, 0), 0.5).hold();
    hold.settle(0.5);
    assertThatThrownBy(() -> hold.settle(0.5)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void theDailyBudgetStartsAfreshAtMidnightUtcAndTheMonthlyOneAtTheMonthsEnd() {
    VirtualKey key = key(1.0, 1.5);
    allowances.hold(key, 1.0).hold().settle(1.0);
    assertThat(allowances.hold(key, 0.1).refusedBy()).isEqualTo("daily");

    clock.now = Instant.parse("2027-01-01T00:00:01Z"); // a new day, and a new month
    assertThat(allowances.spentToday("key_1")).isZero();
    assertThat(allowances.spentThisMonth("key_1")).isZero();
    allowances.hold(key, 0.9).hold().settle(0.9);
    clock.now = Instant.parse("2027-01-02T00:00:01Z");
    allowances.hold(key, 0.7).hold().settle(0.7);
    assertThat(allowances.spentToday("key_1"))
        .isEqualTo(0.7, org.assertj.core.data.Offset.offset(1e-12));
    Allowances.HoldResult monthly = allowances.hold(key, 0.1);
    assertThat(monthly.refusedBy()).isEqualTo("monthly");
    assertThat(monthly.spentUsd()).isEqualTo(1.6, org.assertj.core.data.Offset.offset(1e-12));
  }

  @Test
  void spendFromTheLedgerCountsAtStart() {
    allowances.spent(Map.of("key_1", 0.25), Map.of("key_1", 1.25, "key_2", 3.0));
    assertThat(allowances.spentToday("key_1")).isEqualTo(0.25);
    assertThat(allowances.spentThisMonth("key_1")).isEqualTo(1.25);
    assertThat(allowances.spentThisMonth("key_2")).isEqualTo(3.0);
    assertThat(allowances.hold(key(0, 1.25), 0.01).refusedBy()).isEqualTo("monthly");
  }

  @Test
  void theKeysOwnRpmIsCountedAndAChangedLimitAppliesAtOnce() {
    VirtualKey key = key(0, 0); // rpm 2
    assertThat(allowances.acquire(key, 0, 10).allowed()).isTrue();
    assertThat(allowances.acquire(key, 1, 10).allowed()).isTrue();
    WindowLimiter.Decision third = allowances.acquire(key, 2, 10);
    assertThat(third.allowed()).isFalse();
    assertThat(third.retryAtNanos()).isEqualTo(60_000_000_000L);
    VirtualKey raised =
        new VirtualKey(
            "key_1",
            "k",
            "h",
            "abcd",
            List.of(),
            3,
            0,
            "high",
            0,
            0,
            null,
            Map.of(),
            Instant.EPOCH,
            null);
    assertThat(allowances.acquire(raised, 3, 10).allowed()).isTrue();
  }

  @Test
  void otherInstancesUseCountsAgainstTheKeysLimitsAndBudgets() {
    VirtualKey key = key(1.00, 2.00); // rpm 2, daily $1, monthly $2
    allowances.spent(Map.of("key_1", 0.10), Map.of("key_1", 0.50)); // the ledger at start
    assertThat(allowances.acquire(key, 0, 10).allowed()).isTrue();
    // Another instance charged one request in its window: the key's second is refused here.
    allowances.elsewhere("key_1", 1, 10, 0.0, 0.0);
    assertThat(allowances.acquire(key, 1, 10).allowed()).isFalse();
    // What this instance tells the others: its own window, and its spend since its start only.
    allowances.hold(key, 0.2).hold().settle(0.2);
    Allowances.Own own = allowances.own("key_1", 1);
    assertThat(own.windowRequests()).isEqualTo(1);
    assertThat(own.windowTokens()).isEqualTo(10);
    assertThat(own.sinceStartToday()).isCloseTo(0.2, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(own.sinceStartMonth()).isCloseTo(0.2, org.assertj.core.data.Offset.offset(1e-9));
    // The others spent $0.75 today: with the ledger's $0.10 and this one's $0.20, the daily
    // budget of $1 is used up.
    allowances.elsewhere("key_1", 0, 0, 0.75, 0.75);
    assertThat(allowances.spentToday("key_1"))
        .isCloseTo(1.05, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(allowances.hold(key, 0.01).refusedBy()).isEqualTo("daily");
  }
}
