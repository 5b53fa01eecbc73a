package dev.penstock.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.core.limit.DeploymentLimits;
import dev.penstock.core.limit.Pacing;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.core.queue.Priority;
import dev.penstock.core.time.FakeTicker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The blocking front with real request threads and a fake clock: threads park until {@link
 * Admissions#dispatchNow()} runs at a time when their request may start.
 */
class AdmissionsTest {
  private static final long S = 1_000_000_000L;

  private final FakeTicker ticker = new FakeTicker();

  private Admissions admissions(long rpm) {
    Topology topology =
        new Topology(
            List.of(
                new Topology.ModelRoute(
                    "m",
                    List.of(
                        new Topology.DeploymentSpec(
                            "a", DeploymentLimits.of(rpm, 1_000_000), 0, 1)),
                    List.of())),
            new Pacing(60 * S, 0),
            100);
    return new Admissions(topology, ticker, false);
  }

  private Demand demand(long deadline) {
    return new Demand("m", "t", Priority.NORMAL, 1, 1, deadline);
  }

  /** Waits (without sleeping, at most 10 s) until {@code count} requests are queued. */
  private static void awaitQueued(Admissions admissions, int count) {
    long deadline = System.nanoTime() + 10 * S;
    while (admissions.queued() < count) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("fewer than " + count + " requests queued after 10 s");
      }
      Thread.onSpinWait();
    }
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.get(10, TimeUnit.SECONDS);
  }

  @Test
  void aRetryWaitsOutItsBackoffParkedAndReportsTheCircuitItOpened() throws Exception {
    List<Scheduler.HealthChange> changes = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (Admissions admissions = admissions(6000);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      admissions.onHealthChange(changes::add);
      // The default breaker opens after 5 failures in a row; each request here has 3 attempts.
      for (int i = 0; i < 4; i++) {
        ticker.advance(Duration.ofSeconds(1));
        admissions.fail(
            admissions.acquire(demand(ticker.nanos() + 60 * S)), Settlement.COUNTED, -1, -1);
      }
      ticker.advance(Duration.ofSeconds(1));
      Reservation attempt = admissions.acquire(demand(ticker.nanos() + 60 * S));
      Future<Reservation> retried =
          threads.submit(() -> admissions.retry(attempt, Settlement.COUNTED));
      awaitQueued(admissions, 1);
      assertThat(changes)
          .containsExactly(
              new Scheduler.HealthChange(
                  "a",
                  dev.penstock.core.health.CircuitBreaker.State.CLOSED,
                  dev.penstock.core.health.CircuitBreaker.State.OPEN));
      // The circuit is open for 5 s; the backoff (at most 1 s) ends first, the probe waits on.
      ticker.advance(Duration.ofSeconds(5));
      admissions.dispatchNow();
      assertThat(await(retried).deployment()).isEqualTo("a");
    }
  }

  @Test
  void noRetryStartsOnceShuttingDown() throws Exception {
    Admissions admissions = admissions(6000);
    Reservation attempt = admissions.acquire(demand(60 * S));
    admissions.close();
    assertThatThrownBy(() -> admissions.retry(attempt, Settlement.COUNTED))
        .isInstanceOf(AdmissionRejectedException.class)
        .extracting(e -> ((AdmissionRejectedException) e).rejected().reason())
        .isEqualTo(Admission.Reason.SHUTTING_DOWN);
    assertThat(attempt.settled()).isTrue();
  }

  @Test
  void aQueuedThreadParksUntilItsSlotThenStarts() throws Exception {
    try (Admissions admissions = admissions(60);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      Reservation first = admissions.acquire(demand(60 * S));
      Future<Reservation> second = threads.submit(() -> admissions.acquire(demand(60 * S)));
      awaitQueued(admissions, 1);

      admissions.dispatchNow();
      assertThat(second.isDone()).as("no slot before 1 s").isFalse();

      ticker.advance(Duration.ofSeconds(1));
      admissions.dispatchNow();
      Reservation started = await(second);
      assertThat(started.deployment()).isEqualTo("a");
      assertThat(started.queueNanos()).isEqualTo(S);
      admissions.settle(first, Settlement.COMPLETED, 1, 1, RateLimitObservation.NONE);
      admissions.settle(started, Settlement.COMPLETED, 1, 1, RateLimitObservation.NONE);
    }
  }

  @Test
  void aThreadWhoseDeadlinePassesIsRejected() throws Exception {
    try (Admissions admissions = admissions(6);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      admissions.acquire(demand(60 * S));
      Future<Reservation> waiting = threads.submit(() -> admissions.acquire(demand(10 * S)));
      awaitQueued(admissions, 1);
      // A later high-priority request takes the slot at 10 s.
      Future<Reservation> urgent =
          threads.submit(
              () -> admissions.acquire(new Demand("m", "t", Priority.HIGH, 1, 1, 60 * S)));
      awaitQueued(admissions, 2);
      ticker.advance(Duration.ofSeconds(10));
      admissions.dispatchNow();
      assertThat(await(urgent).deployment()).isEqualTo("a");
      assertThatThrownBy(() -> await(waiting))
          .hasCauseInstanceOf(AdmissionRejectedException.class)
          .cause()
          .extracting(e -> ((AdmissionRejectedException) e).rejected().reason())
          .isEqualTo(Admission.Reason.OVERLOADED);
    }
  }

  @Test
  void anInterruptedWaiterLeavesTheQueue() throws Exception {
    try (Admissions admissions = admissions(60)) {
      admissions.acquire(demand(60 * S));
      CompletableFuture<Throwable> outcome = new CompletableFuture<>();
      Thread waiter =
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      admissions.acquire(demand(60 * S));
                      outcome.complete(null);
                    } catch (Throwable t) {
                      outcome.complete(t);
                    }
                  });
      awaitQueued(admissions, 1);
      waiter.interrupt();
      assertThat(await(outcome)).isInstanceOf(InterruptedException.class);
      assertThat(admissions.queued()).isZero();
    }
  }

  @Test
  void closingRejectsEveryWaiter() throws Exception {
    Admissions admissions = admissions(60);
    try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      admissions.acquire(demand(60 * S));
      Future<Reservation> waiting = threads.submit(() -> admissions.acquire(demand(60 * S)));
      awaitQueued(admissions, 1);
      admissions.close();
      assertThatThrownBy(() -> await(waiting)).hasCauseInstanceOf(AdmissionRejectedException.class);
      assertThatThrownBy(() -> admissions.acquire(demand(60 * S)))
          .isInstanceOf(AdmissionRejectedException.class);
    }
  }

  @Test
  void aCancelledWaiterIsWithdrawnAtOnceAndTheOthersKeepTheirPlaces() throws Exception {
    try (Admissions admissions = admissions(60);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      Reservation first = admissions.acquire(demand(60 * S));
      CancelSignal leaving = new CancelSignal();
      Future<Reservation> before = threads.submit(() -> admissions.acquire(demand(60 * S)));
      awaitQueued(admissions, 1);
      Future<Reservation> gone = threads.submit(() -> admissions.acquire(demand(60 * S), leaving));
      awaitQueued(admissions, 2);
      Future<Reservation> after = threads.submit(() -> admissions.acquire(demand(60 * S)));
      awaitQueued(admissions, 3);

      leaving.cancel("client_closed");
      assertThatThrownBy(() -> await(gone))
          .cause()
          .isInstanceOf(AdmissionRejectedException.class)
          .extracting(e -> ((AdmissionRejectedException) e).rejected().reason())
          .isEqualTo(Admission.Reason.CANCELLED);
      assertThat(admissions.queued()).isEqualTo(2);
      admissions.inspect(
          s -> {
            s.checkInvariantsDeeply(ticker.nanos());
            return null;
          });

      ticker.advance(Duration.ofSeconds(1));
      admissions.dispatchNow();
      Reservation second = await(before);
      assertThat(after.isDone()).as("the next slot is a second later").isFalse();
      ticker.advance(Duration.ofSeconds(1));
      admissions.dispatchNow();
      Reservation third = await(after);
      for (Reservation r : List.of(first, second, third)) {
        admissions.settle(r, Settlement.COMPLETED, 1, 1, RateLimitObservation.NONE);
      }
      assertThat(admissions.outstanding()).isZero();
    }
  }

  @Test
  void aCancelThatLosesTheRaceToAnAdmissionLeavesTheReservationToSettle() throws Exception {
    try (Admissions admissions = admissions(60);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      Reservation first = admissions.acquire(demand(60 * S));
      CancelSignal cancel = new CancelSignal();
      Future<Reservation> waiting =
          threads.submit(() -> admissions.acquire(demand(60 * S), cancel));
      awaitQueued(admissions, 1);
      ticker.advance(Duration.ofSeconds(1));
      admissions.dispatchNow(); // admitted ...
      cancel.cancel("client_closed"); // ... before the client's leaving is noticed
      Reservation raced = await(waiting);
      assertThat(cancel.cancelled()).isTrue();
      // The request thread sees the signal and settles what it was given, unsent.
      admissions.settle(raced, Settlement.UNCOUNTED, -1, -1, RateLimitObservation.NONE);
      admissions.settle(first, Settlement.COMPLETED, 1, 1, RateLimitObservation.NONE);
      assertThat(admissions.outstanding()).isZero();
      long charged =
          admissions.inspect(s -> s.deployment("a").orElseThrow().windowRequests(ticker.nanos()));
      assertThat(charged).as("the unsent attempt is not charged").isEqualTo(1);
    }
  }

  @Test
  void aSignalCancelledBeforeTheWaitWithdrawsAtOnce() throws Exception {
    try (Admissions admissions = admissions(60)) {
      Reservation first = admissions.acquire(demand(60 * S));
      CancelSignal cancel = new CancelSignal();
      cancel.cancel("client_closed");
      assertThatThrownBy(() -> admissions.acquire(demand(60 * S), cancel))
          .isInstanceOf(AdmissionRejectedException.class);
      assertThat(admissions.queued()).isZero();
      admissions.settle(first, Settlement.COMPLETED, 1, 1, RateLimitObservation.NONE);
    }
  }

  @Test
  void aScopeLeftOpenSettlesItsReservationAndCountsALeak() throws Exception {
    List<Reservation> reported = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (Admissions admissions = admissions(6000)) {
      admissions.onLeak(reported::add);
      try (ReservationScope settled = admissions.scope(demand(60 * S), CancelSignal.NEVER)) {
        settled.settle(Settlement.COMPLETED, 1, 1, RateLimitObservation.NONE);
      }
      assertThat(admissions.leakedReservations()).isZero();

      ticker.advance(Duration.ofSeconds(1)); // the pacing allows the next request
      ReservationScope forgotten = admissions.scope(demand(60 * S), CancelSignal.NEVER);
      Reservation open = forgotten.reservation();
      forgotten.close();
      forgotten.close(); // idempotent
      assertThat(open.settled()).isTrue();
      assertThat(admissions.leakedReservations()).isEqualTo(1);
      assertThat(reported).containsExactly(open);
      int inFlight = admissions.inspect(s -> s.deployment("a").orElseThrow().inFlight());
      assertThat(inFlight).isZero();
      assertThat(admissions.outstanding()).isZero();
    }
  }

  @Test
  void aScopeCarriesTheRequestAcrossARetryAndSettlesOnce() throws Exception {
    Topology two =
        new Topology(
            List.of(
                new Topology.ModelRoute(
                    "m",
                    List.of(
                        new Topology.DeploymentSpec("a", DeploymentLimits.of(600, 1_000_000), 0, 1),
                        new Topology.DeploymentSpec(
                            "b", DeploymentLimits.of(600, 1_000_000), 0, 1)),
                    List.of())),
            new Pacing(60 * S, 0),
            100);
    try (Admissions admissions = new Admissions(two, ticker, false)) {
      try (ReservationScope scope = admissions.scope(demand(60 * S), CancelSignal.NEVER)) {
        Reservation firstAttempt = scope.reservation();
        Reservation secondAttempt = scope.retry(Settlement.COUNTED); // at once, on the other one
        assertThat(firstAttempt.settled()).isTrue();
        assertThat(secondAttempt.deployment()).isNotEqualTo(firstAttempt.deployment());
        scope.settle(Settlement.COMPLETED, 1, 1, RateLimitObservation.NONE);
        assertThat(scope.holds()).isFalse();
        assertThatThrownBy(scope::reservation).isInstanceOf(IllegalStateException.class);
      }
      assertThat(admissions.leakedReservations()).isZero();
      assertThat(admissions.outstanding()).isZero();
    }
  }
}
