package dev.penstock.core.limit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Cluster mode's gate on explicit times, alone and under a limiter. */
class SharedCapacityTest {
  private static final long MS = 1_000_000L;
  private static final long S = 1_000 * MS;
  private static final long RPM = 600;
  private static final long TPM = 1_000_000;
  private static final SharedCapacity.Settings THREE =
      new SharedCapacity.Settings(3, 500 * MS, 61 * S);

  /** A gate that already had its first answer: the cluster's window empty. */
  private static SharedCapacity leased(long now) {
    SharedCapacity gate = new SharedCapacity(THREE, RPM, TPM, now);
    gate.lease(now, now, 100 * MS, 0, 0, 1.0, 0, 0);
    return gate;
  }

  /** Starts requests of {@code tokens} as early as the gate allows until {@code until}. */
  private static List<String> greedy(SharedCapacity gate, long from, long until, long tokens) {
    List<String> starts = new ArrayList<>();
    long now = from;
    while (true) {
      long at = gate.startTimeNanos(now, tokens, RPM, TPM);
      if (at >= until) {
        return starts;
      }
      now = at;
      if (gate.startTimeNanos(now, tokens, RPM, TPM) == now) {
        gate.consume(now, tokens, RPM, TPM);
        starts.add("t=" + now / MS + "ms");
      }
    }
  }

  @Test
  void aLeaseLetsRequestsStartAtItsSlotsAndNoSooner() {
    SharedCapacity gate = leased(0);
    gate.lease(0, 200 * MS, 100 * MS, 3, 300, 1.0, 3, 300);
    assertThat(greedy(gate, 0, 2 * S, 100)).containsExactly("t=200ms", "t=300ms", "t=400ms");
    assertThat(gate.slotsLeft(2 * S)).isZero();
    assertThat(gate.leasedStarts()).isEqualTo(3);
  }

  @Test
  void withNoSlotLeftTheGateSaysAskAgainAfterOneValidityNotNever() {
    SharedCapacity gate = leased(0);
    assertThat(gate.startTimeNanos(10 * MS, 1, RPM, TPM)).isEqualTo(510 * MS);
  }

  @Test
  void aSlotNotUsedWithinItsValidityLapsesAndIsNotSpentLater() {
    SharedCapacity gate = leased(0);
    gate.lease(0, 0, 100 * MS, 2, 200, 1.0, 2, 200);
    // At 550 ms the first slot (0 ms) has lapsed; the second (100 ms) is good until 600 ms.
    assertThat(gate.startTimeNanos(550 * MS, 100, RPM, TPM)).isEqualTo(550 * MS);
    gate.consume(550 * MS, 100, RPM, TPM);
    assertThat(gate.slotsLeft(550 * MS)).isZero();
    assertThat(gate.startTimeNanos(550 * MS, 100, RPM, TPM)).isEqualTo(1_050 * MS);
  }

  @Test
  void aRequestLargerThanTheLeasedTokensWaitsForALeaseThatCarriesThem() {
    SharedCapacity gate = leased(0);
    gate.lease(0, 0, 100 * MS, 2, 150, 1.0, 2, 150);
    assertThat(gate.startTimeNanos(0, 100, RPM, TPM)).isZero();
    gate.consume(0, 100, RPM, TPM);
    // 50 tokens left: a 100-token request waits, a 50-token one does not.
    assertThat(gate.startTimeNanos(100 * MS, 100, RPM, TPM)).isEqualTo(600 * MS);
    assertThat(gate.startTimeNanos(100 * MS, 50, RPM, TPM)).isEqualTo(100 * MS);
  }

  @Test
  void beforeTheFirstAnswerTheWholeLimitCountsAsUsedForOneSpan() {
    SharedCapacity gate = new SharedCapacity(THREE, RPM, TPM, 0);
    assertThat(gate.connected()).isFalse();
    assertThat(gate.startTimeNanos(0, 1, RPM, TPM)).isEqualTo(61 * S);
  }

  @Test
  void lostTheFallbackIsAThirdOfWhatTheClusterHadLeftPacedAtAThirdOfTheRate() {
    SharedCapacity gate = leased(0);
    // The cluster had used 300 of 600 requests in its window at the last answer.
    gate.lease(0, 0, 100 * MS, 0, 0, 0.5, 300, 1_000);
    gate.lost(1 * S);
    assertThat(gate.connected()).isFalse();
    assertThat(gate.shareOfRate()).isCloseTo(1.0 / 3, org.assertj.core.data.Offset.offset(1e-9));
    // (600 - 300) / 3 = 100 starts in the window, each 3 × 61 s / 600 = 305 ms apart.
    List<String> starts = greedy(gate, 1 * S, 2 * S, 10);
    assertThat(starts).containsExactly("t=1000ms", "t=1305ms", "t=1610ms", "t=1915ms");
    long count = greedy(gate, 2 * S, 61 * S, 10).size() + 4L;
    assertThat(count).isEqualTo(100);
    // Once the cluster's last known use left the window, a third of the whole limit.
    assertThat(gate.startTimeNanos(61 * S, 10, RPM, TPM)).isEqualTo(61 * S);
    // What it started is told to the cluster when it answers again, each start with how long it
    // goes on counting (the first, at 1 s, until 62 s: 1 s left at 61 s).
    List<long[]> untold = gate.untold(61 * S, S);
    assertThat(untold.stream().mapToLong(g -> g[1]).sum()).isEqualTo(100);
    assertThat(untold.stream().mapToLong(g -> g[2]).sum()).isEqualTo(1_000);
    assertThat(untold.getFirst()[0]).isEqualTo(1 * S);
    gate.told(60, false);
    assertThat(gate.untold(61 * S, S).stream().mapToLong(g -> g[1]).sum()).isEqualTo(40);
  }

  @Test
  void theInstancesFallbacksTogetherNeverExceedTheLimit() {
    // Three instances lose the cluster at once; it had used 450 of 600. Each keeps to its share.
    long total = 0;
    for (int i = 0; i < 3; i++) {
      SharedCapacity gate = leased(0);
      gate.lease(0, 0, 100 * MS, 0, 0, 0.33, 450, 0);
      gate.lost(0);
      total += greedy(gate, 0, 61 * S, 1).size();
    }
    assertThat(total + 450).isLessThanOrEqualTo(RPM);
    assertThat(total).isEqualTo(150);
  }

  @Test
  void reportedCorrectionsAreSubtractedOnceAndAReseedReplacesThem() {
    SharedCapacity gate = leased(0);
    gate.adjust(-1, -40);
    gate.adjust(0, 15);
    assertThat(gate.unreportedRequests()).isEqualTo(-1);
    assertThat(gate.unreportedTokens()).isEqualTo(-25);
    gate.reported(-1, -25);
    assertThat(gate.unreportedRequests()).isZero();
    assertThat(gate.unreportedTokens()).isZero();
    gate.adjust(2, 7);
    gate.reseed();
    assertThat(gate.reseeding()).isTrue();
    assertThat(gate.unreportedRequests()).isZero();
    assertThat(gate.unreportedTokens()).isZero();
    gate.told(0, true);
    assertThat(gate.reseeding()).isFalse();
  }

  @Test
  void underALimiterTheGateHoldsStartsToItsSlotsAndSettlementsAreReported() {
    DeploymentLimiter limiter =
        new DeploymentLimiter(
            "a", new DeploymentLimits(RPM, TPM, 0, TpmCharge.USAGE), new Pacing(60 * S, 0));
    SharedCapacity gate = leased(0);
    limiter.share(gate);
    gate.lease(0, 250 * MS, 200 * MS, 2, 200, 0.5, 2, 200);
    assertThat(limiter.startTimeNanos(0, 100)).isEqualTo(250 * MS);
    Charge first = limiter.reserve(250 * MS, 60, 40);
    assertThat(limiter.startTimeNanos(250 * MS, 100)).isEqualTo(450 * MS);
    Charge second = limiter.reserve(450 * MS, 60, 40);
    // The first never reached the upstream: one request and its tokens back to the cluster. The
    // second used 70 tokens of the 100 charged (charged by usage).
    limiter.settle(first, 500 * MS, Settlement.UNCOUNTED, -1, -1);
    limiter.settle(second, 600 * MS, Settlement.COMPLETED, 60, 10);
    assertThat(gate.unreportedRequests()).isEqualTo(-1);
    assertThat(gate.unreportedTokens()).isEqualTo(-100 - 30);
    // Estimates assume this instance's share of the rate: 100 ms a request at 600 RPM, halved.
    assertThat(limiter.estimatedNanosPerRequest()).isEqualTo(2 * limiter.nanosPerRequest());
  }
}
