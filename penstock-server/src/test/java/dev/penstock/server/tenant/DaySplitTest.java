package dev.penstock.server.tenant;

import static dev.penstock.server.tenant.Ledgers.DAY;
import static dev.penstock.server.tenant.Ledgers.MARCH_1;
import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.server.tenant.DaySplit.Span;
import java.util.List;
import org.junit.jupiter.api.Test;

class DaySplitTest {
  private static final long HOUR = 3_600_000L;

  @Test
  void aRangeOfWholeDaysHasNoPartialDays() {
    DaySplit split = DaySplit.of(MARCH_1, MARCH_1 + 3 * DAY);
    assertThat(describe(split)).isEqualTo("whole 2025-03-01..2025-03-04, partial []");
  }

  @Test
  void partialDaysAtBothEdges() {
    DaySplit split = DaySplit.of(MARCH_1 + 20 * HOUR, MARCH_1 + 3 * DAY + HOUR);
    assertThat(describe(split))
        .isEqualTo("whole 2025-03-02..2025-03-04, partial [2025-03-01 20h-24h, 2025-03-04 0h-1h]");
  }

  @Test
  void aRangeAcrossOneMidnightIsTwoPartialDays() {
    DaySplit split = DaySplit.of(MARCH_1 + 20 * HOUR, MARCH_1 + DAY + HOUR);
    assertThat(describe(split))
        .isEqualTo("whole none, partial [2025-03-01 20h-24h, 2025-03-02 0h-1h]");
  }

  @Test
  void aRangeWithinOneDayIsOnePartialDay() {
    assertThat(describe(DaySplit.of(MARCH_1 + HOUR, MARCH_1 + 2 * HOUR)))
        .isEqualTo("whole none, partial [2025-03-01 1h-2h]");
    assertThat(describe(DaySplit.of(MARCH_1, MARCH_1 + 2 * HOUR)))
        .isEqualTo("whole none, partial [2025-03-01 0h-2h]");
    assertThat(describe(DaySplit.of(MARCH_1 + 2 * HOUR, MARCH_1 + DAY)))
        .isEqualTo("whole none, partial [2025-03-01 2h-24h]");
  }

  @Test
  void anEmptyOrReversedRangeIsEmpty() {
    assertThat(DaySplit.of(MARCH_1, MARCH_1).isEmpty()).isTrue();
    assertThat(DaySplit.of(MARCH_1 + DAY, MARCH_1).isEmpty()).isTrue();
  }

  @Test
  void timesAreClampedToYearsThatPrintAsFourDigits() {
    DaySplit split = DaySplit.of(Long.MIN_VALUE, Long.MAX_VALUE);
    assertThat(DaySplit.day(split.wholeFromMillis())).isEqualTo("0000-01-01");
    assertThat(DaySplit.day(split.wholeToMillis() - 1)).isEqualTo("9999-12-31");
    assertThat(split.partialDays()).isEmpty();
  }

  private static String describe(DaySplit split) {
    String whole =
        split.hasWholeDays()
            ? DaySplit.day(split.wholeFromMillis()) + ".." + DaySplit.day(split.wholeToMillis())
            : "none";
    List<String> partial = split.partialDays().stream().map(DaySplitTest::describe).toList();
    return "whole " + whole + ", partial " + partial;
  }

  private static String describe(Span span) {
    long midnight = Math.floorDiv(span.fromMillis(), DAY) * DAY;
    return span.day()
        + " "
        + (span.fromMillis() - midnight) / HOUR
        + "h-"
        + (span.toMillis() - midnight) / HOUR
        + "h";
  }
}
