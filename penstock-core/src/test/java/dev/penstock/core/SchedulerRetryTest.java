package dev.penstock.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.core.Admission.Admitted;
import dev.penstock.core.Admission.Queued;
import dev.penstock.core.Admission.Rejected;
import dev.penstock.core.health.BreakerPolicy;
import dev.penstock.core.health.CircuitBreaker;
import dev.penstock.core.limit.DeploymentLimits;
import dev.penstock.core.limit.Pacing;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.core.queue.Priority;
import dev.penstock.core.retry.RetryPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Retries, failover and circuit breakers in the scheduler, as transcripts in virtual time. */
class SchedulerRetryTest {
  private static final long MS = 1_000_000L;
  private static final long S = 1000 * MS;
  private static final Pacing NO_GUARD = new Pacing(60 * S, 0);
  private static final BreakerPolicy BREAKER = new BreakerPolicy(3, 0, 1, 10 * S, 5 * S, 60 * S);

  private final List<String> transcript = new ArrayList<>();

  private static Topology.DeploymentSpec deployment(String name) {
    return new Topology.DeploymentSpec(name, DeploymentLimits.of(6000, 10_000_000), 0, 1);
  }

  private static Scheduler scheduler(List<Topology.ModelRoute> models) {
    Topology topology = new Topology(models, NO_GUARD, 1000, RetryPolicy.DEFAULT, BREAKER);
    return new Scheduler(topology, 0, new SplittableRandom(1));
  }

  private static Scheduler scheduler(String... deployments) {
    return scheduler(
        List.of(
            new Topology.ModelRoute(
                "m",
                List.of(deployments).stream().map(SchedulerRetryTest::deployment).toList(),
                List.of())));
  }

  private static Demand demand(String model, long deadline) {
    return new Demand(model, "t", Priority.NORMAL, 10, 10, deadline);
  }

  private String describe(long now, Admission admission) {
    String what =
        switch (admission) {
          case Admitted a -> "admitted " + a.reservation().deployment();
          case Queued q -> "queued";
          case Rejected r -> "rejected " + r.reason();
        };
    transcript.add("t=" + now / MS + "ms " + what);
    return what;
  }

  private Reservation admitted(Admission admission) {
    return ((Admitted) admission).reservation();
  }

  @Test
  void aFailedAttemptGoesAtOnceToAnotherDeployment() {
    Scheduler s = scheduler("a", "b");
    Reservation first = admitted(s.submit(demand("m", 60 * S), 0));
    assertThat(first.deployment()).isEqualTo("a");
    Admission retry = s.retry(first, Settlement.COUNTED, 10 * MS);
    assertThat(describe(10 * MS, retry)).isEqualTo("admitted b");
    assertThat(first.settled()).isTrue();
  }

  @Test
  void withOneDeploymentTheRetryWaitsOutAJitteredBackoff() {
    Scheduler s = scheduler("a");
    Reservation r = admitted(s.submit(demand("m", 60 * S), 0));
    assertThat(describe(0, s.retry(r, Settlement.COUNTED, 0))).isEqualTo("queued");
    long wake = s.nextWakeNanos(0);
    // Full jitter under a 1 s ceiling for the first retry.
    assertThat(wake).isBetween(0L, S);
    assertThat(s.dispatch(wake - 1).admitted()).isEmpty();
    Reservation second = s.dispatch(wake).admitted().getFirst();
    assertThat(second.deployment()).isEqualTo("a");
    assertThat(describe(wake, s.retry(second, Settlement.COUNTED, wake))).isEqualTo("queued");
    long wake2 = s.nextWakeNanos(wake);
    assertThat(wake2 - wake).isBetween(0L, 2 * S);
    Reservation third = s.dispatch(wake2).admitted().getFirst();
    // The third failure uses the last of the default 3 attempts.
    assertThat(describe(wake2, s.retry(third, Settlement.COUNTED, wake2)))
        .isEqualTo("rejected FAILED");
    assertThat(s.queued()).isZero();
  }

  @Test
  void noRetryIsQueuedThatCouldNotStartBeforeTheDeadline() {
    Scheduler s = scheduler("a");
    Reservation r = admitted(s.submit(demand("m", 1), 0));
    assertThat(describe(0, s.retry(r, Settlement.COUNTED, 0))).isEqualTo("rejected FAILED");
    assertThat(s.queued()).isZero();
  }

  @Test
  void rateLimitAnswersUseNoAttempt() {
    Scheduler s = scheduler("a", "b");
    Reservation r = admitted(s.submit(demand("m", 600 * S), 0));
    long now = 0;
    for (int i = 0; i < 5; i++) {
      Admission again = s.requeue(r, now + S, RateLimitObservation.NONE, now);
      if (again instanceof Queued) {
        now = s.nextWakeNanos(now);
        r = s.dispatch(now).admitted().getFirst();
      } else {
        r = admitted(again);
      }
    }
    assertThat(r.ticket().failures()).isZero();
    now += 10 * S; // past every cooldown
    assertThat(describe(now, s.retry(r, Settlement.COUNTED, now))).startsWith("admitted");
    assertThat(r.ticket().failures()).isEqualTo(1);
  }

  @Test
  void consecutiveFailuresOpenTheCircuitAndTrafficMovesOff() {
    Scheduler s = scheduler("a", "b");
    // Requests that land on a fail and move to b; after three, a's circuit opens.
    long now = 0;
    int failedOnA = 0;
    while (failedOnA < 3) {
      now += 100 * MS;
      Reservation r = admitted(s.submit(demand("m", 60 * S), now));
      if (!r.deployment().equals("a")) {
        s.settle(r, Settlement.COMPLETED, 10, 10, RateLimitObservation.NONE, now);
        continue;
      }
      Reservation moved = admitted(s.retry(r, Settlement.COUNTED, now));
      assertThat(moved.deployment()).isEqualTo("b");
      s.settle(moved, Settlement.COMPLETED, 10, 10, RateLimitObservation.NONE, now);
      failedOnA++;
    }
    CircuitBreaker a = s.deployment("a").orElseThrow().health();
    assertThat(a.state(now)).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(s.drainHealthChanges())
        .containsExactly(
            new Scheduler.HealthChange(
                "a", CircuitBreaker.State.CLOSED, CircuitBreaker.State.OPEN));
    long opened = now;
    for (int i = 0; i < 5; i++) {
      now += 100 * MS;
      Reservation r = admitted(s.submit(demand("m", 60 * S), now));
      assertThat(r.deployment()).isEqualTo("b");
      s.settle(r, Settlement.COMPLETED, 10, 10, RateLimitObservation.NONE, now);
    }
    // After the open time one probe goes to a; while it runs, a takes nothing else.
    long later = opened + 5 * S;
    List<String> targets = new ArrayList<>();
    Reservation probe = null;
    for (int i = 0; i < 4; i++) {
      Reservation r = admitted(s.submit(demand("m", 600 * S), later + i * S));
      targets.add(r.deployment());
      if (r.deployment().equals("a")) {
        probe = r;
      } else {
        s.settle(r, Settlement.COMPLETED, 10, 10, RateLimitObservation.NONE, later + i * S);
      }
    }
    // a is ready only from the end of its open time: b, idle longer then, takes the first one.
    assertThat(targets).containsExactly("b", "a", "b", "b");
    assertThat(a.state(later + 3 * S)).isEqualTo(CircuitBreaker.State.HALF_OPEN);
    s.settle(probe, Settlement.COMPLETED, 10, 10, RateLimitObservation.NONE, later + 4 * S);
    assertThat(a.state(later + 4 * S)).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(s.drainHealthChanges())
        .containsExactly(
            new Scheduler.HealthChange(
                "a", CircuitBreaker.State.HALF_OPEN, CircuitBreaker.State.CLOSED));
  }

  @Test
  void whenEveryCircuitOfAModelIsOpenItsFallbackServes() {
    Scheduler s =
        scheduler(
            List.of(
                new Topology.ModelRoute("m", List.of(deployment("a")), List.of("backup")),
                new Topology.ModelRoute("backup", List.of(deployment("z")), List.of())));
    for (int i = 0; i < 3; i++) {
      Reservation r = admitted(s.submit(demand("m", 600 * S), i * S));
      s.fail(r, Settlement.COUNTED, -1, -1, i * S);
    }
    assertThat(describe(3 * S, s.submit(demand("m", 600 * S), 3 * S))).isEqualTo("admitted z");
  }

  @Test
  void withoutAFallbackRequestsWaitForTheProbeRatherThanFail() {
    Scheduler s = scheduler("a");
    for (int i = 0; i < 3; i++) {
      Reservation r = admitted(s.submit(demand("m", 600 * S), i * S));
      s.fail(r, Settlement.COUNTED, -1, -1, 2 * S);
    }
    // Open from t=2s until t=7s: a request now waits for the probe...
    assertThat(describe(3 * S, s.submit(demand("m", 600 * S), 3 * S))).isEqualTo("queued");
    assertThat(s.nextWakeNanos(3 * S)).isEqualTo(7 * S);
    assertThat(s.dispatch(7 * S).admitted())
        .extracting(Reservation::deployment)
        .containsExactly("a");
    // ...and one whose deadline falls before the probe's end cannot be promised a start.
    assertThat(describe(7 * S, s.submit(demand("m", 8 * S), 7 * S)))
        .isEqualTo("rejected OVERLOADED");
  }

  @Test
  void aRetryQueuedBehindABusyPoolStillPassesOverTheDeploymentItFailedOn() {
    Topology.DeploymentSpec slowB =
        new Topology.DeploymentSpec("b", DeploymentLimits.of(60, 10_000_000), 0, 1);
    Topology topology =
        new Topology(
            List.of(new Topology.ModelRoute("m", List.of(deployment("a"), slowB), List.of())),
            NO_GUARD,
            1000,
            RetryPolicy.DEFAULT,
            BREAKER);
    Scheduler s = new Scheduler(topology, 0, new SplittableRandom(1));
    Reservation onB = admitted(s.submit(demand("m", 60 * S), 0));
    Reservation onA = admitted(s.submit(demand("m", 60 * S), 0));
    assertThat(List.of(onB.deployment(), onA.deployment())).containsExactlyInAnyOrder("a", "b");
    Reservation failing = onA.deployment().equals("a") ? onA : onB;
    // b (60 RPM) is paced: its next slot is 1 s away; a is free but was the one that failed.
    assertThat(describe(0, s.retry(failing, Settlement.COUNTED, 0))).isEqualTo("queued");
    assertThat(s.dispatch(500 * MS).admitted()).isEmpty();
    assertThat(s.nextWakeNanos(500 * MS)).isEqualTo(S);
    assertThat(s.dispatch(S).admitted()).extracting(Reservation::deployment).containsExactly("b");
  }

  /**
   * A retry that waits for another deployment steps aside while the one it failed on could serve
   * the requests behind it: it no longer holds the queue until its alternative is free.
   */
  @Test
  void aRetryWaitingForABusyAlternativeDoesNotHoldBackTheRequestsBehindIt() {
    Topology.DeploymentSpec slowB =
        new Topology.DeploymentSpec("b", DeploymentLimits.of(60, 10_000_000), 0, 1);
    Topology topology =
        new Topology(
            List.of(new Topology.ModelRoute("m", List.of(deployment("a"), slowB), List.of())),
            NO_GUARD,
            1000,
            RetryPolicy.DEFAULT,
            BREAKER);
    Scheduler s = new Scheduler(topology, 0, new SplittableRandom(1));
    Reservation first = admitted(s.submit(demand("m", 60 * S), 0));
    Reservation second = admitted(s.submit(demand("m", 60 * S), 0));
    Reservation failing = first.deployment().equals("a") ? first : second;
    assertThat(describe(0, s.submit(demand("m", 60 * S), 0))).isEqualTo("queued");
    // The retry goes to the front, waiting for b (1 s away); a's next slot is 10 ms away.
    assertThat(describe(0, s.retry(failing, Settlement.COUNTED, 0))).isEqualTo("queued");
    assertThat(s.nextWakeNanos(0))
        .as("woken when a can serve the request behind")
        .isEqualTo(10 * MS);

    assertThat(s.dispatch(10 * MS).admitted())
        .as("the request behind the retry starts on a")
        .extracting(Reservation::deployment)
        .containsExactly("a");
    assertThat(s.queued()).as("the retry still waits").isEqualTo(1);
    assertThat(s.nextWakeNanos(10 * MS)).isEqualTo(S);
    assertThat(s.dispatch(S).admitted()).extracting(Reservation::deployment).containsExactly("b");
    s.checkInvariantsDeeply(S);
  }

  @Test
  void aWaitingRetryCanBeCancelled() {
    Scheduler s = scheduler("a");
    Reservation r = admitted(s.submit(demand("m", 60 * S), 0));
    Queued q = (Queued) s.retry(r, Settlement.COUNTED, 0);
    assertThat(s.cancel(q.ticket())).isTrue();
    assertThat(s.queued()).isZero();
    assertThat(s.nextWakeNanos(0)).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void enablingADeploymentClosesItsCircuit() {
    Scheduler s = scheduler("a");
    for (int i = 0; i < 3; i++) {
      s.fail(admitted(s.submit(demand("m", 600 * S), i * S)), Settlement.COUNTED, -1, -1, i * S);
    }
    assertThat(describe(3 * S, s.submit(demand("m", 600 * S), 3 * S))).isEqualTo("queued");
    s.enable("a", 3 * S);
    assertThat(s.dispatch(3 * S).admitted())
        .extracting(Reservation::deployment)
        .containsExactly("a");
  }
}
