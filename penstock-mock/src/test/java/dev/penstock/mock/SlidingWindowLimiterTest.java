package dev.penstock.mock;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.mock.SlidingWindowLimiter.Accepted;
import dev.penstock.mock.SlidingWindowLimiter.Decision;
import dev.penstock.mock.SlidingWindowLimiter.Limits;
import dev.penstock.mock.SlidingWindowLimiter.RateLimited;
import dev.penstock.mock.SlidingWindowLimiter.TooLarge;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The simulator's limiter, on explicit times: every window is checked against a brute force. */
class SlidingWindowLimiterTest {
  private static final long MS = 1_000_000L;
  private static final long S = 1_000 * MS;

  private final SlidingWindowLimiter limiter = new SlidingWindowLimiter();

  @Test
  void acceptsUpToTheRpmLimitThenRejectsUntilTheOldestRequestLeavesTheWindow() {
    Limits limits = new Limits(3, 1_000_000);
    assertThat(limiter.tryAcquire(0, 10, limits)).isInstanceOf(Accepted.class);
    assertThat(limiter.tryAcquire(10 * S, 10, limits)).isInstanceOf(Accepted.class);
    assertThat(limiter.tryAcquire(20 * S, 10, limits)).isInstanceOf(Accepted.class);

    Decision fourth = limiter.tryAcquire(30 * S, 10, limits);
    assertThat(fourth).isInstanceOf(RateLimited.class);
    RateLimited limited = (RateLimited) fourth;
    assertThat(limited.limitType()).isEqualTo("requests");
    assertThat(limited.used()).isEqualTo(3);
    // The request at t=0 leaves the window at t=60 s: 30 s from now.
    assertThat(limited.retryAfterNanos()).isEqualTo(30 * S);

    assertThat(limiter.tryAcquire(60 * S - 1, 10, limits)).isInstanceOf(RateLimited.class);
    // At exactly t=60 s the first request is out: windows are (now - 60 s, now].
    assertThat(limiter.tryAcquire(60 * S, 10, limits)).isInstanceOf(Accepted.class);
  }

  @Test
  void chargesTokensOnArrivalAndWaitsForEnoughOfThemToExpire() {
    Limits limits = new Limits(1000, 100);
    assertThat(limiter.tryAcquire(0, 40, limits)).isInstanceOf(Accepted.class);
    assertThat(limiter.tryAcquire(5 * S, 40, limits)).isInstanceOf(Accepted.class);

    Decision third = limiter.tryAcquire(6 * S, 30, limits);
    RateLimited limited = (RateLimited) third;
    assertThat(limited.limitType()).isEqualTo("tokens");
    assertThat(limited.used()).isEqualTo(80);
    assertThat(limited.requested()).isEqualTo(30);
    // 80 + 30 > 100; once the first 40 expire (t=60 s) it fits: 54 s from now.
    assertThat(limited.retryAfterNanos()).isEqualTo(54 * S);

    // Rejected requests are not charged: 20 tokens still fit right now.
    assertThat(limiter.tryAcquire(6 * S, 20, limits)).isInstanceOf(Accepted.class);
    // A request needing 70 must wait until both of the first two have left (t=65 s).
    assertThat(((RateLimited) limiter.tryAcquire(7 * S, 70, limits)).retryAfterNanos())
        .isEqualTo(65 * S - 7 * S);
  }

  @Test
  void aRequestLargerThanTheTpmLimitIsTooLargeNotRateLimited() {
    Decision decision = limiter.tryAcquire(0, 101, new Limits(10, 100));
    assertThat(decision).isInstanceOf(TooLarge.class);
    assertThat(((TooLarge) decision).requested()).isEqualTo(101);
    assertThat(limiter.tryAcquire(0, 100, new Limits(10, 100))).isInstanceOf(Accepted.class);
  }

  @Test
  void headroomReportsRemainingAndTimeUntilTheWindowIsEmpty() {
    Limits limits = new Limits(10, 1000);
    limiter.tryAcquire(0, 100, limits);
    Decision second = limiter.tryAcquire(15 * S, 50, limits);
    SlidingWindowLimiter.Headroom h = second.headroom();
    assertThat(h.remainingRequests()).isEqualTo(8);
    assertThat(h.remainingTokens()).isEqualTo(850);
    assertThat(h.resetRequestsNanos()).isEqualTo(60 * S);
    assertThat(h.resetTokensNanos()).isEqualTo(60 * S);
    assertThat(limiter.tryAcquire(75 * S, 1, limits).headroom().remainingTokens()).isEqualTo(999);
  }

  /**
   * Random arrivals against random limits. The oracle is a brute force over the accepted log: no
   * 60-second window may hold more than the limits (safety), and every rejection must be necessary
   * — accepting it would have broken a limit (the limiter is not over-strict).
   */
  @Test
  void neverExceedsALimitInAnyWindowAndRejectsOnlyWhenItMust() {
    SplittableRandom random = new SplittableRandom(7);
    for (int round = 0; round < 20; round++) {
      SlidingWindowLimiter fresh = new SlidingWindowLimiter();
      Limits limits = new Limits(1 + random.nextInt(50), 100 + random.nextInt(5_000));
      List<long[]> accepted = new ArrayList<>();
      long now = 0;
      for (int i = 0; i < 2_000; i++) {
        now += random.nextLong(2 * S);
        long tokens = 1 + random.nextLong(limits.tpm() / 4 + 1);
        Decision decision = fresh.tryAcquire(now, tokens, limits);
        long[] windowUse = use(accepted, now);
        boolean fits = windowUse[0] + 1 <= limits.rpm() && windowUse[1] + tokens <= limits.tpm();
        assertThat(decision instanceof Accepted)
            .as(
                "t=%d requested %d tokens, window holds %d requests / %d tokens",
                now, tokens, windowUse[0], windowUse[1])
            .isEqualTo(fits);
        if (decision instanceof Accepted) {
          accepted.add(new long[] {now, tokens});
        } else if (decision instanceof RateLimited limited) {
          long later = now + limited.retryAfterNanos();
          long[] then = use(accepted, later);
          long need = limited.limitType().equals("requests") ? 1 : tokens;
          long limit = limited.limitType().equals("requests") ? limits.rpm() : limits.tpm();
          long held = limited.limitType().equals("requests") ? then[0] : then[1];
          assertThat(held + need)
              .as("the advertised retry time is enough")
              .isLessThanOrEqualTo(limit);
        }
      }
      for (long[] event : accepted) {
        long[] windowUse = use(accepted, event[0]);
        assertThat(windowUse[0]).isLessThanOrEqualTo(limits.rpm());
        assertThat(windowUse[1]).isLessThanOrEqualTo(limits.tpm());
      }
    }
  }

  /** Requests and tokens accepted in the window (at - 60 s, at]. */
  private static long[] use(List<long[]> accepted, long at) {
    long requests = 0;
    long tokens = 0;
    for (long[] event : accepted) {
      if (event[0] > at - 60 * S && event[0] <= at) {
        requests++;
        tokens += event[1];
      }
    }
    return new long[] {requests, tokens};
  }
}
