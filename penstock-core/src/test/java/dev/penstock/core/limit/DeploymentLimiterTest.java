package dev.penstock.core.limit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The limiter's decisions as transcripts on explicit times. */
class DeploymentLimiterTest {
  private static final long MS = 1_000_000L;
  private static final long S = 1_000 * MS;
  private static final Pacing NO_GUARD = new Pacing(60 * S, 0);

  /** Starts requests as early as the limiter allows; returns "t=...ms" per start. */
  private static List<String> greedy(
      DeploymentLimiter limiter, int count, long prompt, long output) {
    List<String> transcript = new ArrayList<>();
    long now = 0;
    for (int i = 0; i < count; i++) {
      now = limiter.startTimeNanos(now, prompt + output);
      limiter.reserve(now, prompt, output);
      transcript.add("t=" + now / MS + "ms");
    }
    return transcript;
  }

  @Test
  void requestsArePacedEvenlyNotBurstAtTheStartOfTheMinute() {
    DeploymentLimiter limiter =
        new DeploymentLimiter("a", DeploymentLimits.of(200, 1_000_000), NO_GUARD);
    assertThat(greedy(limiter, 5, 10, 10))
        .containsExactly("t=0ms", "t=300ms", "t=600ms", "t=900ms", "t=1200ms");
  }

  @Test
  void theGuardStretchesTheSpacingSoArrivalJitterCannotOverfillAWindow() {
    DeploymentLimiter limiter =
        new DeploymentLimiter("a", DeploymentLimits.of(200, 1_000_000), Pacing.DEFAULT);
    // (60 s + 0.5 s) / 200 = 302.5 ms
    assertThat(greedy(limiter, 3, 10, 10)).containsExactly("t=0ms", "t=302ms", "t=605ms");
  }

  @Test
  void tokensArePacedByTheirCostAndTheLogNeverLetsAWindowOverflow() {
    DeploymentLimiter limiter =
        new DeploymentLimiter("a", DeploymentLimits.of(1000, 6000), NO_GUARD);
    // 3000 tokens book 30 s of a 6000 TPM schedule.
    assertThat(greedy(limiter, 3, 1000, 2000)).containsExactly("t=0ms", "t=30000ms", "t=60000ms");

    // Paid-after pacing would let a big request follow a small one at once; the log holds it
    // until enough of the window has passed.
    DeploymentLimiter mixed = new DeploymentLimiter("b", DeploymentLimits.of(1000, 6000), NO_GUARD);
    mixed.reserve(0, 3000, 0); // books 30 s
    long start = mixed.startTimeNanos(30 * S, 6000);
    assertThat(start).isEqualTo(60 * S);
  }

  @Test
  void aRequestLargerThanTheTpmNeverStarts() {
    DeploymentLimiter limiter = new DeploymentLimiter("a", DeploymentLimits.of(10, 100), NO_GUARD);
    assertThat(limiter.startTimeNanos(0, 101)).isEqualTo(DeploymentLimiter.NEVER);
    assertThat(limiter.startTimeNanos(0, 100)).isZero();
  }

  @Test
  void estimateChargeKeepsTheCapChargedButUsageChargeRefundsIt() {
    DeploymentLimiter estimate =
        new DeploymentLimiter("e", DeploymentLimits.of(1000, 10_000), NO_GUARD);
    Charge c1 = estimate.reserve(0, 100, 900);
    estimate.settle(c1, S, Settlement.COMPLETED, 100, 50);
    assertThat(estimate.windowTokens(S)).isEqualTo(1000);

    DeploymentLimiter usage =
        new DeploymentLimiter(
            "u", new DeploymentLimits(1000, 10_000, 0, TpmCharge.USAGE), NO_GUARD);
    Charge c2 = usage.reserve(0, 100, 900);
    usage.settle(c2, S, Settlement.COMPLETED, 100, 50);
    assertThat(usage.windowTokens(S)).isEqualTo(150);
    // The refund also frees the token schedule: the next request may start now.
    assertThat(usage.startTimeNanos(S, 9000)).isEqualTo(S);
  }

  @Test
  void aPromptLargerThanEstimatedIsChargedInFullEvenInEstimateMode() {
    DeploymentLimiter limiter =
        new DeploymentLimiter("a", DeploymentLimits.of(1000, 10_000), NO_GUARD);
    Charge c = limiter.reserve(0, 100, 200);
    limiter.settle(c, S, Settlement.COMPLETED, 150, 10);
    assertThat(limiter.windowTokens(S)).isEqualTo(350);
  }

  @Test
  void anUncountedAttemptIsReturnedWhollyAndACountedOneIsNot() {
    DeploymentLimiter limiter = new DeploymentLimiter("a", DeploymentLimits.of(2, 1000), NO_GUARD);
    Charge refused = limiter.reserve(0, 10, 10);
    limiter.settle(refused, MS, Settlement.UNCOUNTED, -1, -1);
    assertThat(limiter.windowRequests(MS)).isZero();
    assertThat(limiter.startTimeNanos(MS, 20)).isEqualTo(MS);

    Charge failed = limiter.reserve(MS, 10, 10);
    limiter.settle(failed, 2 * MS, Settlement.COUNTED, -1, -1);
    assertThat(limiter.windowRequests(2 * MS)).isEqualTo(1);
    assertThat(limiter.windowTokens(2 * MS)).isEqualTo(20);
  }

  @Test
  void upstreamReportsOfExtraUseAreHeldUntilTheirReset() {
    DeploymentLimiter limiter =
        new DeploymentLimiter("a", DeploymentLimits.of(100, 1000), NO_GUARD);
    Charge c = limiter.reserve(0, 100, 0);
    // The upstream says only 500 tokens remain: 400 more than Penstock charged, for 10 s.
    limiter.observe(new RateLimitObservation(100, 1000, 98, 500, 20 * S, 10 * S), MS);
    limiter.settle(c, MS, Settlement.COMPLETED, 100, 0);
    // 100 tokens book 6 s of the token schedule; then 100 + 400 phantom + 500 fit exactly...
    assertThat(limiter.startTimeNanos(6 * S, 500)).isEqualTo(6 * S);
    // ...and 600 must wait for the phantom use to lapse.
    assertThat(limiter.startTimeNanos(6 * S, 600)).isEqualTo(10 * S + MS);
  }

  @Test
  void aLowerLimitReportedByTheUpstreamIsAdopted() {
    DeploymentLimiter limiter =
        new DeploymentLimiter("a", DeploymentLimits.of(600, 100_000), NO_GUARD);
    // A tenth of the configured limit: believed once three answers in a row say so.
    for (int i = 0; i < 3; i++) {
      limiter.observe(
          new RateLimitObservation(60, RateLimitObservation.UNKNOWN, -1, -1, -1, -1), 0);
    }
    assertThat(limiter.rpm()).isEqualTo(60);
    assertThat(greedy(limiter, 2, 1, 1)).containsExactly("t=0ms", "t=1000ms");
  }

  @Test
  void coolDownDisableAndConcurrencyBlockStarts() {
    DeploymentLimiter limiter =
        new DeploymentLimiter(
            "a", new DeploymentLimits(1000, 100_000, 1, TpmCharge.ESTIMATE), NO_GUARD);
    Charge c = limiter.reserve(0, 1, 1);
    assertThat(limiter.readyAtNanos(S)).isEqualTo(DeploymentLimiter.NEVER);
    limiter.settle(c, S, Settlement.COMPLETED, 1, 1);
    assertThat(limiter.startTimeNanos(S, 2)).isEqualTo(S);

    limiter.coolDownUntil(5 * S);
    assertThat(limiter.startTimeNanos(S, 2)).isEqualTo(5 * S);

    limiter.disable("insufficient_quota");
    assertThat(limiter.startTimeNanos(10 * S, 2)).isEqualTo(DeploymentLimiter.NEVER);
    limiter.enable();
    assertThat(limiter.startTimeNanos(10 * S, 2)).isEqualTo(10 * S);
  }

  private static RateLimitObservation limits(long requests, long tokens) {
    long u = RateLimitObservation.UNKNOWN;
    return new RateLimitObservation(requests, tokens, u, u, u, u);
  }

  /**
   * One garbled {@code x-ratelimit-limit-tokens: 1} once made every later request "too large" for
   * good — no request reached the upstream to correct it. A limit far below the configured one is
   * believed only after three answers in a row, and lapses unless reported again; a plausible lower
   * limit is adopted at once.
   */
  @Test
  void aFarLowerReportedLimitNeedsConfirmationAndLapsesUnlessReportedAgain() {
    DeploymentLimiter limiter =
        new DeploymentLimiter("a", DeploymentLimits.of(1000, 100_000), NO_GUARD);
    limiter.observe(limits(-1, 1), 0);
    assertThat(limiter.tpm()).as("one lying answer").isEqualTo(100_000);
    limiter.observe(limits(-1, 1), S);
    limiter.observe(limits(-1, 90_000), 2 * S); // a sane answer breaks the run
    assertThat(limiter.tpm()).isEqualTo(90_000);
    limiter.observe(limits(-1, 1), 3 * S);
    limiter.observe(limits(-1, 1), 4 * S);
    assertThat(limiter.tpm()).as("two in a row").isEqualTo(90_000);
    limiter.observe(limits(-1, 1), 5 * S);
    assertThat(limiter.tpm()).as("three in a row").isEqualTo(1);
    assertThat(limiter.startTimeNanos(6 * S, 100)).isEqualTo(DeploymentLimiter.NEVER);
    long lapsed = 5 * S + DeploymentLimiter.LEARNED_TTL_NANOS;
    assertThat(limiter.startTimeNanos(lapsed, 100))
        .as("not reported again for ten minutes: the configured limit holds")
        .isLessThan(DeploymentLimiter.NEVER);
    assertThat(limiter.tpm()).isEqualTo(100_000);

    limiter.observe(limits(600, -1), lapsed + S);
    assertThat(limiter.rpm()).as("a plausible lower limit, at once").isEqualTo(600);
    limiter.observe(limits(5000, -1), lapsed + 2 * S);
    assertThat(limiter.rpm()).as("the configured limit holds again").isEqualTo(1000);
  }

  @Test
  void anOperatorsEnableForgetsWhatTheUpstreamTaught() {
    DeploymentLimiter limiter =
        new DeploymentLimiter("a", DeploymentLimits.of(1000, 100_000), NO_GUARD);
    limiter.observe(limits(300, 30_000), 0);
    limiter.coolDownUntil(3_600 * S);
    assertThat(limiter.readyAtNanos(S)).isEqualTo(3_600 * S);

    limiter.forgetLearned();

    assertThat(limiter.rpm()).isEqualTo(1000);
    assertThat(limiter.tpm()).isEqualTo(100_000);
    assertThat(limiter.readyAtNanos(S)).isLessThanOrEqualTo(S);
  }

  /**
   * A refusal by the provider's own limiter (a requeued 429) returns the window's charge but keeps
   * the pacing slot: an upstream refusing everything cannot make the next send come sooner.
   */
  @Test
  void aRefusedAttemptReturnsItsWindowChargeButNotItsPacingSlot() {
    DeploymentLimiter limiter =
        new DeploymentLimiter("a", DeploymentLimits.of(60, 1_000_000), NO_GUARD);
    Charge charge = limiter.reserve(0, 10, 10);
    limiter.settle(charge, MS, Settlement.REFUSED, -1, -1);
    assertThat(limiter.windowRequests(MS)).isZero();
    assertThat(limiter.startTimeNanos(MS, 20)).as("the next slot stays a second away").isEqualTo(S);

    DeploymentLimiter uncounted =
        new DeploymentLimiter("b", DeploymentLimits.of(60, 1_000_000), NO_GUARD);
    uncounted.settle(uncounted.reserve(0, 10, 10), MS, Settlement.UNCOUNTED, -1, -1);
    assertThat(uncounted.startTimeNanos(MS, 20))
        .as("never sent: the slot is returned")
        .isEqualTo(MS);
  }
}
