package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OpenLoopSchedulerTest {
  private static final long START_NANOS = 1_000_000_000L; // any origin: only differences count

  private final FakeBenchClock clock = new FakeBenchClock(START_NANOS);
  private final List<String> transcript = new ArrayList<>();

  private void record(long number, long dueNanos) {
    transcript.add(
        "t=%dms send #%d due=%dms".formatted(millis(clock.nanoTime()), number, millis(dueNanos)));
  }

  private static long millis(long nanos) {
    return (nanos - START_NANOS) / 1_000_000;
  }

  private OpenLoopScheduler scheduler(Rate rate, long durationMillis, long cap, Launcher launcher) {
    return new OpenLoopScheduler(
        rate, START_NANOS, START_NANOS + durationMillis * 1_000_000, cap, clock, launcher);
  }

  @Test
  void launchesEachRequestAtItsDueTime() {
    long sendEnd = scheduler(Rate.perMinute(200), 1_000, Long.MAX_VALUE, this::record).drive();

    assertThat(transcript)
        .containsExactly(
            "t=0ms send #0 due=0ms",
            "t=300ms send #1 due=300ms",
            "t=600ms send #2 due=600ms",
            "t=900ms send #3 due=900ms");
    assertThat(millis(sendEnd)).isEqualTo(1_000);
  }

  @Test
  void stopsAtTheRequestCap() {
    long sendEnd = scheduler(Rate.perSecond(10), 60_000, 3, this::record).drive();

    assertThat(transcript)
        .containsExactly(
            "t=0ms send #0 due=0ms", "t=100ms send #1 due=100ms", "t=200ms send #2 due=200ms");
    // Sending "ended" when the next request would have been due, so the offered rate is exact.
    assertThat(millis(sendEnd)).isEqualTo(300);
  }

  @Test
  void whenLaunchingRunsLateTheScheduleCatchesUpWithOriginalDueTimes() {
    Launcher slow =
        (number, due) -> {
          record(number, due);
          clock.advanceMillis(250); // e.g. a GC pause on the scheduler thread
        };

    scheduler(Rate.perSecond(10), 500, Long.MAX_VALUE, slow).drive();

    // Latency is measured from "due", so the pause counts against the results, not hidden.
    assertThat(transcript)
        .containsExactly(
            "t=0ms send #0 due=0ms",
            "t=250ms send #1 due=100ms",
            "t=500ms send #2 due=200ms",
            "t=750ms send #3 due=300ms",
            "t=1000ms send #4 due=400ms");
  }
}
