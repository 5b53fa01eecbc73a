package dev.penstock.core.limit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WindowLimiterTest {
  private static final long SECOND = 1_000_000_000L;
  private static final long MINUTE = 60 * SECOND;

  @Test
  void aCallerMayBurstItsWholeMinuteAndIsToldWhenTheNextRequestFits() {
    WindowLimiter limiter = new WindowLimiter(3, WindowLimiter.UNLIMITED, MINUTE);
    assertThat(limiter.tryAcquire(0, 10).allowed()).isTrue();
    assertThat(limiter.tryAcquire(SECOND, 10).allowed()).isTrue();
    WindowLimiter.Decision third = limiter.tryAcquire(2 * SECOND, 10);
    assertThat(third.allowed()).isTrue();
    assertThat(third.remainingRequests()).isZero();

    WindowLimiter.Decision fourth = limiter.tryAcquire(3 * SECOND, 10);
    assertThat(fourth.allowed()).isFalse();
    assertThat(fourth.retryAtNanos()).isEqualTo(MINUTE); // the first request stops counting
    assertThat(fourth.requestLimit()).isEqualTo(3);
    assertThat(fourth.remainingRequests()).isZero();
    assertThat(fourth.remainingTokens()).isEqualTo(-1);
    assertThat(fourth.resetNanos()).isEqualTo(2 * SECOND + MINUTE - 3 * SECOND);

    assertThat(limiter.tryAcquire(MINUTE, 10).allowed()).isTrue();
  }

  @Test
  void tokensAreCountedAndSettledToTheRealUsage() {
    WindowLimiter limiter = new WindowLimiter(WindowLimiter.UNLIMITED, 1_000, MINUTE);
    WindowLimiter.Decision first = limiter.tryAcquire(0, 800);
    assertThat(first.allowed()).isTrue();
    assertThat(first.remainingTokens()).isEqualTo(200);
    assertThat(limiter.tryAcquire(SECOND, 300).allowed()).isFalse();

    limiter.settle(first.sequence(), 100); // it used far less than estimated
    WindowLimiter.Decision second = limiter.tryAcquire(2 * SECOND, 300);
    assertThat(second.allowed()).isTrue();
    assertThat(second.remainingTokens()).isEqualTo(600);
    assertThat(limiter.windowTokens(2 * SECOND)).isEqualTo(400);

    limiter.settle(second.sequence(), -1); // unknown usage: the estimate stays
    assertThat(limiter.windowTokens(2 * SECOND)).isEqualTo(400);
  }

  @Test
  void aRequestLargerThanTheLimitNeverFitsAndChargesNothing() {
    WindowLimiter limiter = new WindowLimiter(10, 1_000, MINUTE);
    WindowLimiter.Decision decision = limiter.tryAcquire(0, 1_001);
    assertThat(decision.allowed()).isFalse();
    assertThat(decision.retryAtNanos()).isEqualTo(DeploymentLimiter.NEVER);
    assertThat(limiter.windowRequests(0)).isZero();
  }

  @Test
  void aCancelledReservationGivesItsRequestAndTokensBack() {
    WindowLimiter limiter = new WindowLimiter(1, 100, MINUTE);
    WindowLimiter.Decision first = limiter.tryAcquire(0, 50);
    assertThat(limiter.tryAcquire(1, 10).allowed()).isFalse();
    limiter.cancel(first.sequence());
    assertThat(limiter.tryAcquire(2, 100).allowed()).isTrue();
  }

  @Test
  void newLimitsApplyAtOnceAndKeepWhatWasCharged() {
    WindowLimiter limiter = new WindowLimiter(2, WindowLimiter.UNLIMITED, MINUTE);
    assertThat(limiter.tryAcquire(0, 0).allowed()).isTrue();
    assertThat(limiter.tryAcquire(0, 0).allowed()).isTrue();
    assertThat(limiter.tryAcquire(0, 0).allowed()).isFalse();
    limiter.reconfigure(3, WindowLimiter.UNLIMITED);
    assertThat(limiter.tryAcquire(0, 0).allowed()).isTrue();
    assertThat(limiter.tryAcquire(0, 0).allowed()).isFalse();
    limiter.reconfigure(WindowLimiter.UNLIMITED, WindowLimiter.UNLIMITED);
    WindowLimiter.Decision unlimited = limiter.tryAcquire(0, 1_000_000);
    assertThat(unlimited.allowed()).isTrue();
    assertThat(unlimited.remainingRequests()).isEqualTo(-1);
  }
}
