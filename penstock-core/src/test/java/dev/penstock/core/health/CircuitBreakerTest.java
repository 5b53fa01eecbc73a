package dev.penstock.core.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.core.time.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The breaker's transitions as transcripts on a fake clock. */
class CircuitBreakerTest {
  private static final long S = 1_000_000_000L;

  private final FakeTicker clock = new FakeTicker();
  private final List<String> transcript = new ArrayList<>();

  private final BreakerPolicy policy =
      new BreakerPolicy(3, 0.5, 10, Duration.ofSeconds(10).toNanos(), 5 * S, 20 * S);
  private final CircuitBreaker breaker = new CircuitBreaker(policy);

  private void step(String what) {
    long now = clock.nanos();
    switch (what) {
      case "start" -> breaker.onStart(now);
      case "ok" -> breaker.onSuccess(now);
      case "fail" -> breaker.onFailure(now);
      case "neutral" -> breaker.onNeutral();
      default -> throw new IllegalArgumentException(what);
    }
    transcript.add(line(what));
  }

  private String line(String what) {
    long now = clock.nanos();
    long admits = breaker.admitsAtNanos();
    String gate =
        admits == Long.MIN_VALUE
            ? "admits now"
            : admits == Long.MAX_VALUE ? "admits none" : "admits at t=" + admits / S + "s";
    return "t=" + now / S + "s " + what + " -> " + breaker.state(now) + ", " + gate;
  }

  private void at(long seconds) {
    clock.advanceTo(seconds * S);
  }

  @Test
  void consecutiveFailuresOpenThenAProbeClosesIt() {
    step("start");
    step("fail");
    step("fail");
    step("ok"); // a success breaks the run
    step("fail");
    step("fail");
    step("fail");
    at(4);
    transcript.add(line("look"));
    at(5);
    transcript.add(line("look"));
    step("start"); // the probe
    at(6);
    step("ok");
    assertThat(transcript)
        .containsExactly(
            "t=0s start -> CLOSED, admits now",
            "t=0s fail -> CLOSED, admits now",
            "t=0s fail -> CLOSED, admits now",
            "t=0s ok -> CLOSED, admits now",
            "t=0s fail -> CLOSED, admits now",
            "t=0s fail -> CLOSED, admits now",
            "t=0s fail -> OPEN, admits at t=5s",
            "t=4s look -> OPEN, admits at t=5s",
            "t=5s look -> HALF_OPEN, admits at t=5s",
            "t=5s start -> HALF_OPEN, admits none",
            "t=6s ok -> CLOSED, admits now");
  }

  @Test
  void aFailedProbeReopensForTwiceAsLongUpToTheCap() {
    for (int i = 0; i < 3; i++) {
      step("fail");
    }
    for (long t : new long[] {5, 15, 35, 55}) {
      at(t);
      step("start");
      step("fail");
    }
    assertThat(transcript)
        .containsSubsequence(
            "t=0s fail -> OPEN, admits at t=5s",
            "t=5s fail -> OPEN, admits at t=15s",
            "t=15s fail -> OPEN, admits at t=35s",
            "t=35s fail -> OPEN, admits at t=55s",
            "t=55s fail -> OPEN, admits at t=75s");
    assertThat(breaker.timesOpened()).isEqualTo(5);
  }

  @Test
  void aRateLimitedProbeLetsTheNextProbeGo() {
    for (int i = 0; i < 3; i++) {
      step("fail");
    }
    at(5);
    step("start");
    step("neutral");
    step("start");
    step("ok");
    assertThat(transcript)
        .containsSubsequence(
            "t=5s start -> HALF_OPEN, admits none",
            "t=5s neutral -> HALF_OPEN, admits now",
            "t=5s start -> HALF_OPEN, admits none",
            "t=5s ok -> CLOSED, admits now");
  }

  @Test
  void anErrorRateOverTheWindowOpensItAlthoughFailuresNeverRunThree() {
    // ok, fail, ok, fail ...: never two failures in a row, 50% errors.
    for (int i = 0; i < 10; i++) {
      at(i);
      step(i % 2 == 0 ? "ok" : "fail");
    }
    assertThat(transcript.getLast()).isEqualTo("t=9s fail -> OPEN, admits at t=14s");
    assertThat(transcript.subList(0, 9)).allMatch(l -> l.contains("CLOSED"));
  }

  @Test
  void oldOutcomesAgeOutOfTheWindow() {
    for (int i = 0; i < 8; i++) {
      step(i % 2 == 0 ? "ok" : "fail");
    }
    at(30); // the window is 10 s: all of the above is forgotten
    step("ok");
    step("fail");
    assertThat(breaker.window(clock.nanos())).containsExactly(2, 1);
    assertThat(breaker.state(clock.nanos())).isEqualTo(CircuitBreaker.State.CLOSED);
  }

  @Test
  void lateSuccessesOfRequestsStartedBeforeItOpenedDoNotCloseIt() {
    for (int i = 0; i < 3; i++) {
      step("fail");
    }
    at(1);
    step("ok");
    assertThat(transcript.getLast()).isEqualTo("t=1s ok -> OPEN, admits at t=5s");
  }

  @Test
  void aPassedHealthCheckEndsTheOpenTimeButClosesNothing() {
    for (int i = 0; i < 3; i++) {
      step("fail");
    }
    at(2);
    breaker.onCheckPassed(clock.nanos());
    transcript.add(line("check passed"));
    step("start");
    step("ok");
    breaker.onCheckPassed(clock.nanos()); // closed: nothing to end
    transcript.add(line("check passed"));
    assertThat(transcript)
        .containsSubsequence(
            "t=0s fail -> OPEN, admits at t=5s",
            "t=2s check passed -> HALF_OPEN, admits at t=2s",
            "t=2s start -> HALF_OPEN, admits none",
            "t=2s ok -> CLOSED, admits now",
            "t=2s check passed -> CLOSED, admits now");
  }

  @Test
  void resetClosesAndForgets() {
    for (int i = 0; i < 3; i++) {
      step("fail");
    }
    breaker.reset();
    assertThat(line("reset")).isEqualTo("t=0s reset -> CLOSED, admits now");
    assertThat(breaker.consecutiveFailures()).isZero();
    assertThat(breaker.window(0)).containsExactly(0, 0);
  }
}
