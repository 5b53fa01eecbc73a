package dev.penstock.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.core.Admission.Admitted;
import dev.penstock.core.Admission.Queued;
import dev.penstock.core.limit.DeploymentLimits;
import dev.penstock.core.limit.Pacing;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.core.limit.TpmCharge;
import dev.penstock.core.queue.Priority;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Batch work ({@link Priority#BATCH}) runs on the capacity interactive requests leave: it never
 * makes an interactive request wait longer than it would without it, takes nearly all the rest, and
 * the two together stay within the deployment's limit in every window.
 */
class SchedulerBatchTest {
  private static final long MS = 1_000_000L;
  private static final long S = 1000 * MS;
  private static final Pacing NO_GUARD = new Pacing(60 * S, 0);

  private static Scheduler scheduler(long rpm, long tpm, int maxConcurrency) {
    Topology.DeploymentSpec a =
        new Topology.DeploymentSpec(
            "a", new DeploymentLimits(rpm, tpm, maxConcurrency, TpmCharge.ESTIMATE), 0, 1);
    return new Scheduler(
        new Topology(List.of(new Topology.ModelRoute("m", List.of(a), List.of())), NO_GUARD, 1000),
        0);
  }

  private static Demand demand(Priority priority, long deadline) {
    return new Demand(
        "m", priority == Priority.BATCH ? "batch" : "app", priority, 10, 10, deadline);
  }

  private static void settle(Scheduler scheduler, Reservation r, long now) {
    scheduler.settle(r, Settlement.COMPLETED, -1, -1, RateLimitObservation.NONE, now);
  }

  @Test
  void anInteractiveRequestTakesTheSlotTheLastBatchLineBookedAndTheBatchWaits() {
    Scheduler scheduler = scheduler(60, 1_000_000, 0); // one request a second
    Admission batch = scheduler.submit(demand(Priority.BATCH, 600 * S), 0);
    assertThat(batch).isInstanceOf(Admitted.class);
    settle(scheduler, ((Admitted) batch).reservation(), 100 * MS);

    // Without the loan it would wait until 1 s; it starts at once.
    assertThat(scheduler.submit(demand(Priority.NORMAL, 60 * S), 500 * MS))
        .isInstanceOf(Admitted.class);
    // A second interactive request keeps its own pacing: one a second.
    assertThat(scheduler.submit(demand(Priority.NORMAL, 60 * S), 600 * MS))
        .isInstanceOf(Queued.class);
    // The next batch line waits for both: the full schedule is booked until 2 s.
    Queued next = (Queued) scheduler.submit(demand(Priority.BATCH, 600 * S), 700 * MS);
    List<Reservation> at1500 = scheduler.dispatch(1500 * MS).admitted();
    assertThat(at1500).extracting(r -> r.ticket().priority()).containsExactly(Priority.NORMAL);
    assertThat(scheduler.nextWakeNanos(1500 * MS)).isGreaterThan(2 * S);
    long wake = scheduler.nextWakeNanos(1500 * MS);
    assertThat(scheduler.dispatch(wake).admitted())
        .extracting(Reservation::ticket)
        .containsExactly(next.ticket());
  }

  @Test
  void batchLinesLeaveAConcurrencySlotForInteractiveRequests() {
    Scheduler scheduler = scheduler(6000, 1_000_000, 2);
    assertThat(scheduler.submit(demand(Priority.BATCH, 600 * S), 0)).isInstanceOf(Admitted.class);
    // One slot left of two: a batch line may not take it.
    assertThat(scheduler.submit(demand(Priority.BATCH, 600 * S), S)).isInstanceOf(Queued.class);
    assertThat(scheduler.submit(demand(Priority.NORMAL, 60 * S), S)).isInstanceOf(Admitted.class);
  }

  @Test
  void aBatchNeverDelaysInteractiveRequestsAndUsesNearlyAllTheCapacityTheyLeave() {
    Run alone = simulate(false);
    Run withBatch = simulate(true);

    assertThat(withBatch.interactiveWaits)
        .as("every interactive request starts when it would have without the batch")
        .isEqualTo(alone.interactiveWaits);
    long capacity = 600; // 60 RPM for 600 s
    long left = capacity - alone.interactive;
    assertThat(withBatch.batch)
        .as("the batch uses at least 90%% of the %d slots interactive traffic left", left)
        .isGreaterThanOrEqualTo(left * 9 / 10);
    assertThat(withBatch.maxPerWindow).as("starts in any 60 s window").isLessThanOrEqualTo(60);
  }

  private record Run(List<Long> interactiveWaits, long interactive, long batch, int maxPerWindow) {}

  /**
   * Ten minutes at 60 RPM: interactive requests arrive at random (seeded) at about 40% of capacity;
   * with a batch, four lines always wait for spare capacity.
   */
  private static Run simulate(boolean batch) {
    Scheduler scheduler = scheduler(60, 1_000_000, 0);
    SplittableRandom random = new SplittableRandom(42);
    long end = 600 * S;
    long nextArrival = (long) (-Math.log(1 - random.nextDouble()) * 2.5 * S);
    List<Long> starts = new ArrayList<>();
    List<Long> waits = new ArrayList<>();
    long[] counts = new long[2];
    int queuedBatch = 0;
    long now = 0;
    while (now < end) {
      while (batch && queuedBatch < 4) {
        Admission a = scheduler.submit(demand(Priority.BATCH, now + 3600 * S), now);
        if (a instanceof Admitted admitted) {
          starts.add(now);
          counts[1]++;
          settle(scheduler, admitted.reservation(), now);
        } else {
          queuedBatch++;
        }
      }
      if (nextArrival <= now) {
        Admission a = scheduler.submit(demand(Priority.NORMAL, now + 600 * S), now);
        if (a instanceof Admitted admitted) {
          starts.add(now);
          waits.add(0L);
          counts[0]++;
          settle(scheduler, admitted.reservation(), now);
        }
        nextArrival = now + (long) (-Math.log(1 - random.nextDouble()) * 2.5 * S);
      }
      for (Reservation r : scheduler.dispatch(now).admitted()) {
        starts.add(now);
        if (r.ticket().priority() == Priority.BATCH) {
          queuedBatch--;
          counts[1]++;
        } else {
          waits.add(now - r.ticket().submittedNanos());
          counts[0]++;
        }
        settle(scheduler, r, now);
      }
      now = Math.min(nextArrival, scheduler.nextWakeNanos(now));
    }
    int maxPerWindow = 0;
    for (int i = 0, j = 0; i < starts.size(); i++) {
      while (starts.get(i) - starts.get(j) >= 60 * S) {
        j++;
      }
      maxPerWindow = Math.max(maxPerWindow, i - j + 1);
    }
    return new Run(waits, counts[0], counts[1], maxPerWindow);
  }
}
