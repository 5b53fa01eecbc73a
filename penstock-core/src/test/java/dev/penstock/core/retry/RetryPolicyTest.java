package dev.penstock.core.retry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Backoff schedules: exponential ceilings, full jitter beneath them, reproducible by seed. */
class RetryPolicyTest {
  private static final long MS = 1_000_000L;

  @Test
  void theDefaultScheduleDoublesFromOneSecondToTheThirtyTwoSecondCap() {
    RetryPolicy policy = RetryPolicy.DEFAULT;
    // A generator that always draws the top of the range shows the ceilings.
    List<Long> ceilings = new ArrayList<>();
    for (int retry = 1; retry <= 8; retry++) {
      ceilings.add(policy.backoffNanos(retry, new Highest()) / MS);
    }
    assertThat(ceilings)
        .containsExactly(1000L, 2000L, 4000L, 8000L, 16000L, 32000L, 32000L, 32000L);
  }

  @Test
  void jitterIsFullAndSeeded() {
    RetryPolicy policy = RetryPolicy.DEFAULT;
    SplittableRandom random = new SplittableRandom(42);
    List<Long> draws = new ArrayList<>();
    for (int retry = 1; retry <= 6; retry++) {
      draws.add(policy.backoffNanos(retry, random) / MS);
    }
    SplittableRandom again = new SplittableRandom(42);
    List<Long> replay = new ArrayList<>();
    for (int retry = 1; retry <= 6; retry++) {
      replay.add(policy.backoffNanos(retry, again) / MS);
    }
    assertThat(draws).isEqualTo(replay);
    for (int retry = 1; retry <= 6; retry++) {
      assertThat(draws.get(retry - 1)).isBetween(0L, Math.min(32_000L, 1000L << (retry - 1)));
    }
  }

  @Test
  void jitterSpreadsOverTheWholeRange() {
    SplittableRandom random = new SplittableRandom(7);
    long below = 0;
    long above = 0;
    for (int i = 0; i < 10_000; i++) {
      long draw = RetryPolicy.DEFAULT.backoffNanos(1, random);
      if (draw < 250 * MS) {
        below++;
      } else if (draw > 750 * MS) {
        above++;
      }
    }
    // Uniform on [0, 1 s]: about a quarter of the draws in each outer quarter.
    assertThat(below).isBetween(2300L, 2700L);
    assertThat(above).isBetween(2300L, 2700L);
  }

  @Test
  void hugeRetryNumbersStayAtTheCapWithoutOverflow() {
    RetryPolicy policy = new RetryPolicy(3, Long.MAX_VALUE / 4, Long.MAX_VALUE / 2);
    assertThat(policy.backoffNanos(200, new Highest())).isEqualTo(Long.MAX_VALUE / 2);
  }

  @Test
  void rejectsNonsense() {
    assertThatThrownBy(() -> new RetryPolicy(0, 1, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new RetryPolicy(3, 10, 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> RetryPolicy.DEFAULT.backoffNanos(0, new SplittableRandom()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** Always draws the largest value allowed. */
  private static final class Highest implements java.util.random.RandomGenerator {
    @Override
    public long nextLong() {
      return Long.MAX_VALUE;
    }

    @Override
    public long nextLong(long bound) {
      return bound - 1;
    }
  }
}
