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

  /** Waits (without sleeping) until {@code count} requests are queued. */
  private static void awaitQueued(Admissions admissions, int count) {
    while (admissions.queued() < count) {
      Thread.onSpinWait();
    }
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
      assertThat(retried.get().deployment()).isEqualTo("a");
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
      Reservation started = second.get();
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
      assertThat(urgent.get().deployment()).isEqualTo("a");
      assertThatThrownBy(waiting::get)
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
      assertThat(outcome.get()).isInstanceOf(InterruptedException.class);
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
      assertThatThrownBy(waiting::get).hasCauseInstanceOf(AdmissionRejectedException.class);
      assertThatThrownBy(() -> admissions.acquire(demand(60 * S)))
          .isInstanceOf(AdmissionRejectedException.class);
    }
  }
}
