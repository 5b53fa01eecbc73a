package dev.penstock.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.core.Admission.Admitted;
import dev.penstock.core.Admission.Queued;
import dev.penstock.core.Admission.Reason;
import dev.penstock.core.Admission.Rejected;
import dev.penstock.core.limit.DeploymentLimits;
import dev.penstock.core.limit.Pacing;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.core.queue.Priority;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The scheduler's decisions, as readable transcripts in virtual time. */
class SchedulerTest {
  private static final long MS = 1_000_000L;
  private static final long S = 1000 * MS;
  private static final Pacing NO_GUARD = new Pacing(60 * S, 0);

  private static Topology.DeploymentSpec deployment(String name, long rpm, long tpm, int tier) {
    return new Topology.DeploymentSpec(name, DeploymentLimits.of(rpm, tpm), tier, 1);
  }

  private static Topology topology(Topology.DeploymentSpec... deployments) {
    return new Topology(
        List.of(new Topology.ModelRoute("m", List.of(deployments), List.of())), NO_GUARD, 1000);
  }

  private static Demand demand(Priority priority, String tenant, long deadline) {
    return new Demand("m", tenant, priority, 10, 10, deadline);
  }

  private static String describe(Admission admission) {
    return switch (admission) {
      case Admitted a -> "admitted " + a.reservation().deployment();
      case Queued q -> "queued";
      case Rejected r -> "rejected " + r.reason() + " retry " + r.retryAfterNanos() / MS + "ms";
    };
  }

  @Test
  void spreadsRequestsOverTheDeploymentsThenQueues() {
    Scheduler scheduler =
        new Scheduler(
            topology(
                deployment("a", 60, 100_000, 0),
                deployment("b", 60, 100_000, 0),
                deployment("c", 60, 100_000, 0)),
            0);
    List<String> transcript = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      transcript.add(describe(scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0)));
    }
    assertThat(transcript).containsExactly("admitted a", "admitted b", "admitted c", "queued");
    assertThat(scheduler.nextWakeNanos(0)).isEqualTo(S);
    assertThat(scheduler.dispatch(S - 1).admitted()).isEmpty();
    assertThat(scheduler.dispatch(S).admitted())
        .extracting(Reservation::deployment)
        .containsExactly("a");
  }

  @Test
  void aHigherTierIsUsedOnlyWhenTheLowerOneIsFull() {
    Scheduler scheduler =
        new Scheduler(
            topology(deployment("relay", 600, 1_000_000, 1), deployment("own", 60, 100_000, 0)), 0);
    List<String> transcript = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      transcript.add(describe(scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0)));
    }
    assertThat(transcript).containsExactly("admitted own", "admitted relay", "queued");
  }

  @Test
  void rejectsAtOnceWhatCannotStartBeforeItsDeadlineWithATruthfulRetryAfter() {
    Scheduler scheduler = new Scheduler(topology(deployment("a", 60, 100_000, 0)), 0);
    List<String> transcript = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      transcript.add(describe(scheduler.submit(demand(Priority.NORMAL, "t", 5 * S), 0)));
    }
    // One slot per second: starts at 0 s, then 1..5 s queue; the 7th would start at 6 s.
    assertThat(transcript)
        .containsExactly(
            "admitted a",
            "queued",
            "queued",
            "queued",
            "queued",
            "queued",
            "rejected OVERLOADED retry 1000ms");

    // Retried after exactly that long, with the same 5 s budget, it gets in.
    for (int second = 1; second <= 5; second++) {
      scheduler.dispatch(second * S);
    }
    assertThat(describe(scheduler.submit(demand(Priority.NORMAL, "t", 6 * S), S)))
        .isEqualTo("queued");
  }

  @Test
  void highPriorityOvertakesWaitingNormalOnes() {
    Scheduler scheduler = new Scheduler(topology(deployment("a", 60, 100_000, 0)), 0);
    scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0);
    Queued normal = (Queued) scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0);
    Queued high = (Queued) scheduler.submit(demand(Priority.HIGH, "t", 60 * S), 0);
    List<Reservation> first = scheduler.dispatch(S).admitted();
    assertThat(first).extracting(r -> r.ticket()).containsExactly(high.ticket());
    assertThat(scheduler.dispatch(2 * S).admitted())
        .extracting(r -> r.ticket())
        .containsExactly(normal.ticket());
  }

  @Test
  void waitingPastTheDeadlineEndsInARejection() {
    Scheduler scheduler = new Scheduler(topology(deployment("a", 6, 100_000, 0)), 0);
    scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0);
    Queued waiting = (Queued) scheduler.submit(demand(Priority.NORMAL, "t", 19 * S), 0);
    // A high-priority request arriving later pushes it past its deadline.
    scheduler.submit(demand(Priority.HIGH, "t", 60 * S), S);
    scheduler.dispatch(10 * S);
    Scheduler.Dispatch late = scheduler.dispatch(20 * S);
    assertThat(late.rejected())
        .extracting(Scheduler.Rejection::ticket)
        .containsExactly(waiting.ticket());
    assertThat(late.rejected().getFirst().rejected().reason()).isEqualTo(Reason.OVERLOADED);
    assertThat(scheduler.queued()).isZero();
  }

  @Test
  void anUpstreamRateLimitCoolsTheDeploymentAndRequeuesTheRequestInFront() {
    Scheduler scheduler =
        new Scheduler(
            topology(deployment("a", 600, 100_000, 0), deployment("b", 600, 100_000, 0)), 0);
    Admitted first = (Admitted) scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0);
    Admitted second = (Admitted) scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0);
    scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0);

    Admission again = scheduler.requeue(first.reservation(), 30 * S, RateLimitObservation.NONE, MS);
    assertThat(again).isInstanceOf(Queued.class);
    scheduler.settle(
        second.reservation(), Settlement.COMPLETED, 10, 5, RateLimitObservation.NONE, MS);
    // At 100 ms b is free again; a cools down until 30 s. The requeued request goes first.
    Scheduler.Dispatch next = scheduler.dispatch(100 * MS);
    assertThat(next.admitted()).hasSize(1);
    assertThat(next.admitted().getFirst().ticket()).isSameAs(first.reservation().ticket());
    assertThat(next.admitted().getFirst().deployment()).isEqualTo("b");
    assertThat(scheduler.deployment("a").orElseThrow().coolDownUntilNanos()).isEqualTo(30 * S);
  }

  @Test
  void aModelWithNoUsableDeploymentFallsBack() {
    Topology topology =
        new Topology(
            List.of(
                new Topology.ModelRoute(
                    "big", List.of(deployment("big-1", 60, 100_000, 0)), List.of("small")),
                new Topology.ModelRoute(
                    "small", List.of(deployment("small-1", 60, 100_000, 0)), List.of())),
            NO_GUARD,
            100);
    Scheduler scheduler = new Scheduler(topology, 0);
    scheduler.disable("big-1", "insufficient_quota", 0);
    Admitted admitted =
        (Admitted) scheduler.submit(new Demand("big", "t", Priority.NORMAL, 1, 1, 60 * S), 0);
    assertThat(admitted.reservation().deployment()).isEqualTo("small-1");
    assertThat(admitted.reservation().ticket().model()).isEqualTo("small");
    scheduler.disable("small-1", "insufficient_quota", 0);
    assertThat(describe(scheduler.submit(new Demand("big", "t", Priority.NORMAL, 1, 1, 60 * S), 0)))
        .startsWith("rejected NO_DEPLOYMENT");
  }

  @Test
  void aRequestTooLargeForOneDeploymentIsTooLargeOnlyWhenEveryEnabledOneIsTooSmall() {
    Topology pool =
        new Topology(
            List.of(
                new Topology.ModelRoute(
                    "m",
                    List.of(deployment("small", 10, 100, 0), deployment("large", 10, 1000, 0)),
                    List.of())),
            NO_GUARD,
            10);
    Scheduler scheduler = new Scheduler(pool, 0);
    Admitted admitted =
        (Admitted) scheduler.submit(new Demand("m", "t", Priority.NORMAL, 400, 100, S), 0);
    assertThat(admitted.reservation().deployment()).isEqualTo("large");

    scheduler.disable("large", "insufficient_quota", 0);
    Rejected rejected =
        (Rejected) scheduler.submit(new Demand("m", "t", Priority.NORMAL, 400, 100, S), 0);
    assertThat(rejected.reason()).isEqualTo(Reason.TOO_LARGE);
    assertThat(rejected.message()).endsWith("is 100.");
  }

  @Test
  void impossibleRequestsAreRejectedForWhatTheyAre() {
    Topology small =
        new Topology(
            List.of(new Topology.ModelRoute("m", List.of(deployment("a", 1, 100, 0)), List.of())),
            NO_GUARD,
            1);
    Scheduler scheduler = new Scheduler(small, 0);
    assertThat(describe(scheduler.submit(new Demand("m", "t", Priority.NORMAL, 90, 20, S), 0)))
        .startsWith("rejected TOO_LARGE");
    assertThat(describe(scheduler.submit(new Demand("x", "t", Priority.NORMAL, 1, 1, S), 0)))
        .startsWith("rejected NO_DEPLOYMENT");
    scheduler.submit(demand(Priority.NORMAL, "t", 600 * S), 0);
    scheduler.submit(demand(Priority.NORMAL, "t", 600 * S), 0);
    assertThat(describe(scheduler.submit(demand(Priority.NORMAL, "t", 600 * S), 0)))
        .startsWith("rejected QUEUE_FULL");
  }

  @Test
  void aReloadKeepsTheLimitStateOfDeploymentsThatStay() {
    Scheduler scheduler = new Scheduler(topology(deployment("a", 60, 100_000, 0)), 0);
    scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0);
    scheduler.configure(
        topology(deployment("a", 30, 100_000, 0), deployment("b", 60, 100_000, 0)), MS);
    assertThat(scheduler.deployment("a").orElseThrow().windowRequests(MS)).isEqualTo(1);
    assertThat(describe(scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), MS)))
        .isEqualTo("admitted b");
  }

  @Test
  void requestsWaitingForARemovedModelAreRejected() {
    Scheduler scheduler = new Scheduler(topology(deployment("a", 60, 100_000, 0)), 0);
    scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0);
    scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0);
    scheduler.configure(new Topology(List.of(), NO_GUARD, 10), MS);
    assertThat(scheduler.nextWakeNanos(MS)).isEqualTo(MS);
    assertThat(scheduler.dispatch(MS).rejected()).hasSize(1);
    assertThat(scheduler.queued()).isZero();
  }

  @Test
  void aReservationMustBeSettledExactlyOnce() {
    Scheduler scheduler = new Scheduler(topology(deployment("a", 60, 100_000, 0)), 0);
    Admitted admitted = (Admitted) scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0);
    scheduler.settle(
        admitted.reservation(), Settlement.COMPLETED, 1, 1, RateLimitObservation.NONE, 1);
    assertThatThrownBy(
            () ->
                scheduler.settle(
                    admitted.reservation(),
                    Settlement.COMPLETED,
                    1,
                    1,
                    RateLimitObservation.NONE,
                    2))
        .isInstanceOf(IllegalStateException.class);
  }

  /**
   * A large request that cannot fit a deployment's token window yet must not leave that deployment
   * marked busy for everyone once it is gone: a small request after it starts at once, and the
   * wake-up the scheduler plans always finds the start it promised (no dispatcher spin).
   */
  @Test
  void aLargeHeadThatLeavesDoesNotLeaveItsDeploymentBusyForSmallerOnes() {
    // 100 tokens at 0 book the token schedule until 6 s; the window holds them until 60 s.
    Scheduler scheduler = new Scheduler(topology(deployment("a", 600, 1000, 0)), 0);
    assertThat(describe(scheduler.submit(new Demand("m", "t", Priority.NORMAL, 50, 50, S), 0)))
        .isEqualTo("admitted a");
    Admission large =
        scheduler.submit(new Demand("m", "t", Priority.NORMAL, 450, 500, 120 * S), 6 * S);
    assertThat(large).isInstanceOf(Queued.class); // 100 + 950 > 1000 TPM until 60 s
    assertThat(scheduler.dispatch(6 * S).admitted()).isEmpty();
    assertThat(scheduler.cancel(((Queued) large).ticket())).isTrue();
    scheduler.checkInvariants(6 * S);

    Admission small =
        scheduler.submit(new Demand("m", "t", Priority.NORMAL, 5, 5, 10 * S), 6100 * MS);
    assertThat(describe(small)).isEqualTo("admitted a");
    assertThat(scheduler.nextWakeNanos(6100 * MS)).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void aWakeUpPlannedForAQueueHeadAlwaysFindsItsStart() {
    Scheduler scheduler = new Scheduler(topology(deployment("a", 600, 1000, 0)), 0);
    scheduler.submit(new Demand("m", "t", Priority.NORMAL, 50, 50, S), 0);
    Admission large =
        scheduler.submit(new Demand("m", "t", Priority.NORMAL, 450, 500, 120 * S), 6 * S);
    Admission small = scheduler.submit(new Demand("m", "u", Priority.NORMAL, 5, 5, 120 * S), 6 * S);
    assertThat(small).as("behind the large head").isInstanceOf(Queued.class);
    long now = 6 * S;
    scheduler.dispatch(now);
    scheduler.cancel(((Queued) large).ticket());
    // Each planned wake-up makes progress: something starts or the next wake lies later.
    for (int i = 0; i < 10 && scheduler.queued() > 0; i++) {
      long wake = scheduler.nextWakeNanos(now);
      assertThat(wake).isGreaterThanOrEqualTo(now);
      now = wake;
      Scheduler.Dispatch dispatch = scheduler.dispatch(now);
      assertThat(dispatch.isEmpty() && scheduler.nextWakeNanos(now) <= now)
          .as("a wake at %d ms that admits nothing and plans another at once", now / MS)
          .isFalse();
      scheduler.checkInvariants(now);
    }
    assertThat(scheduler.queued()).isZero();
    assertThat(scheduler.outstanding()).isEqualTo(2);
  }

  @Test
  void aCancelledTicketLeavesNoTraceAndCountsBalance() {
    Scheduler scheduler = new Scheduler(topology(deployment("a", 60, 100_000, 0)), 0);
    Reservation first =
        ((Admitted) scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0)).reservation();
    List<Ticket> waiting = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      waiting.add(
          ((Queued) scheduler.submit(demand(Priority.NORMAL, "t" + i % 2, 60 * S), 0)).ticket());
    }
    assertThat(scheduler.cancel(waiting.get(2))).isTrue();
    assertThat(scheduler.cancel(waiting.get(2))).isFalse();
    assertThat(waiting.get(2).state()).isEqualTo(Ticket.State.CANCELLED);
    assertThat(scheduler.queued()).isEqualTo(4);
    scheduler.checkInvariants(0);
    scheduler.settle(first, Settlement.COMPLETED, 10, 10, RateLimitObservation.NONE, 0);
    assertThat(scheduler.outstanding()).isZero();
    scheduler.checkInvariants(0);
  }

  @Test
  void anAbandonedReservationKeepsItsChargeAndFreesAHalfOpenProbe() {
    Scheduler scheduler = new Scheduler(topology(deployment("a", 6000, 1_000_000, 0)), 0);
    for (int i = 0; i < 5; i++) { // the default breaker opens after 5 failures in a row
      Reservation r =
          ((Admitted) scheduler.submit(demand(Priority.NORMAL, "t", 600 * S), i * S)).reservation();
      scheduler.fail(r, Settlement.COUNTED, -1, -1, i * S);
    }
    long probeAt = scheduler.deployment("a").orElseThrow().health().openUntilNanos();
    Reservation probe =
        ((Admitted) scheduler.submit(demand(Priority.NORMAL, "t", 900 * S), probeAt)).reservation();
    assertThat(scheduler.submit(demand(Priority.NORMAL, "t", 900 * S), probeAt))
        .as("no second request while the probe runs")
        .isNotInstanceOf(Admitted.class);
    long charged = scheduler.deployment("a").orElseThrow().windowTokens(probeAt);
    scheduler.abandon(probe, Settlement.COUNTED, -1, -1, probeAt);
    assertThat(scheduler.outstanding()).isZero();
    assertThat(scheduler.deployment("a").orElseThrow().windowTokens(probeAt)).isEqualTo(charged);
    assertThat(scheduler.submit(demand(Priority.NORMAL, "t", 900 * S), probeAt + S))
        .as("the next probe may go")
        .isInstanceOf(Admitted.class);
  }

  /**
   * A pool whose every deployment is at its max_concurrency cannot tell from rates when a slot
   * frees: the request waits (its deadline bounds the wait) and starts when one ends. It was
   * refused at once before, with a Retry-After of centuries.
   */
  @Test
  void aRequestWaitsForAConcurrencySlotInsteadOfBeingRefused() {
    Scheduler scheduler =
        new Scheduler(
            new Topology(
                List.of(
                    new Topology.ModelRoute(
                        "m",
                        List.of(
                            new Topology.DeploymentSpec(
                                "a",
                                new DeploymentLimits(
                                    600_000,
                                    100_000_000,
                                    1,
                                    dev.penstock.core.limit.TpmCharge.ESTIMATE),
                                0,
                                1)),
                        List.of())),
                NO_GUARD,
                1000),
            0);
    Reservation first =
        ((Admitted) scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), 0)).reservation();
    Admission second = scheduler.submit(demand(Priority.NORMAL, "t", 60 * S), MS);
    assertThat(second).isInstanceOf(Queued.class);
    assertThat(scheduler.dispatch(2 * MS).admitted()).isEmpty();
    scheduler.settle(first, Settlement.COMPLETED, 10, 10, RateLimitObservation.NONE, 3 * MS);
    assertThat(scheduler.dispatch(3 * MS).admitted())
        .extracting(r -> r.ticket())
        .containsExactly(((Queued) second).ticket());
  }
}
