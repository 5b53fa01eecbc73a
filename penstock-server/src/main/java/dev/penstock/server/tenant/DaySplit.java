package dev.penstock.server.tenant;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

/**
 * A report's range {@code [from, to)} cut at UTC midnights: the whole days inside it, which the
 * daily rollup answers, and at most two partial days at its edges, which the ledger's raw rows
 * answer. Each partial span lies within one UTC day.
 *
 * <p>Times are clamped to the years 0000 to 9999, whose days print as {@code yyyy-MM-dd} and sort
 * as text in time order (the rollup's {@code day} column is compared as text).
 *
 * @param wholeFromMillis the first whole day's midnight
 * @param wholeToMillis the midnight ending the last whole day; equal to {@code wholeFromMillis}
 *     when there is no whole day
 * @param partialDays the spans of partial days, in time order
 */
record DaySplit(long wholeFromMillis, long wholeToMillis, List<DaySplit.Span> partialDays) {
  static final long DAY_MILLIS = 86_400_000L;

  /** 0000-01-01T00:00Z. */
  static final long MIN_MILLIS = -62_167_219_200_000L;

  /** 10000-01-01T00:00Z: later than any time the ledger holds. */
  static final long MAX_MILLIS = 253_402_300_800_000L;

  /** {@code [fromMillis, toMillis)} within one UTC day. */
  record Span(long fromMillis, long toMillis) {
    String day() {
      return DaySplit.day(fromMillis);
    }
  }

  DaySplit {
    partialDays = List.copyOf(partialDays);
  }

  static DaySplit of(long fromMillis, long toMillis) {
    long from = clamp(fromMillis);
    long to = clamp(toMillis);
    if (from >= to) {
      return new DaySplit(from, from, List.of());
    }
    long firstMidnight = Math.ceilDiv(from, DAY_MILLIS) * DAY_MILLIS;
    long lastMidnight = Math.floorDiv(to, DAY_MILLIS) * DAY_MILLIS;
    if (firstMidnight > lastMidnight) { // no midnight in [from, to]: all of it in one day
      return new DaySplit(from, from, List.of(new Span(from, to)));
    }
    List<Span> partial = new ArrayList<>(2);
    if (from < firstMidnight) {
      partial.add(new Span(from, firstMidnight));
    }
    if (lastMidnight < to) {
      partial.add(new Span(lastMidnight, to));
    }
    return new DaySplit(firstMidnight, lastMidnight, partial);
  }

  boolean hasWholeDays() {
    return wholeFromMillis < wholeToMillis;
  }

  boolean isEmpty() {
    return !hasWholeDays() && partialDays.isEmpty();
  }

  /** The UTC day of {@code millis}, as {@code yyyy-MM-dd}. */
  static String day(long millis) {
    return epochDayText(Math.floorDiv(millis, DAY_MILLIS));
  }

  static String epochDayText(long epochDay) {
    return LocalDate.ofEpochDay(epochDay).toString();
  }

  private static long clamp(long millis) {
    return Math.clamp(millis, MIN_MILLIS, MAX_MILLIS);
  }
}
