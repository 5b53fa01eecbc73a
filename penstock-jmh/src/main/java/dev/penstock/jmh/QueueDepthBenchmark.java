package dev.penstock.jmh;

import dev.penstock.core.Admission;
import dev.penstock.core.Demand;
import dev.penstock.core.Reservation;
import dev.penstock.core.Scheduler;
import dev.penstock.core.Topology;
import dev.penstock.core.limit.DeploymentLimits;
import dev.penstock.core.limit.Pacing;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.core.limit.TpmCharge;
import dev.penstock.core.queue.Priority;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The scheduler's cost per request while {@code queued} requests wait: the gateway's CPU per
 * request must not grow with the depth of its queue. One deployment that runs one request at a time
 * (its concurrency limit); each operation settles the running request, dispatches (the queue's head
 * starts) and submits a new one (it queues behind the others), so the depth stays the same.
 * Requests come from 16 tenants in turn, at three priorities, so the fair queue is exercised.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class QueueDepthBenchmark {
  private static final Priority[] PRIORITIES = {Priority.HIGH, Priority.NORMAL, Priority.LOW};
  private static final int TENANTS = 16;

  @Param({"10", "10000"})
  public int queued;

  private Scheduler scheduler;
  private Reservation running;
  private Demand[] demands;
  private int next;
  private long now;

  @Setup(Level.Trial)
  public void setUp() {
    Topology.DeploymentSpec deployment =
        new Topology.DeploymentSpec(
            "d",
            new DeploymentLimits(1_000_000_000L, 1_000_000_000_000L, 1, TpmCharge.ESTIMATE),
            0,
            1);
    Topology topology =
        new Topology(
            List.of(new Topology.ModelRoute("m", List.of(deployment), List.of())),
            Pacing.DEFAULT,
            queued + 10);
    scheduler = new Scheduler(topology, 0);
    demands = new Demand[TENANTS * PRIORITIES.length];
    for (int i = 0; i < demands.length; i++) {
      demands[i] =
          new Demand(
              "m",
              "tenant-" + i % TENANTS,
              PRIORITIES[i % PRIORITIES.length],
              200,
              100,
              Long.MAX_VALUE);
    }
    if (!(scheduler.submit(demands[0], now) instanceof Admission.Admitted first)) {
      throw new IllegalStateException("the first request should start");
    }
    running = first.reservation();
    for (int i = 0; i < queued; i++) {
      if (!(scheduler.submit(nextDemand(), now) instanceof Admission.Queued)) {
        throw new IllegalStateException("requests behind the first should queue");
      }
    }
  }

  private Demand nextDemand() {
    Demand demand = demands[next];
    next = (next + 1) % demands.length;
    return demand;
  }

  /**
   * One request's scheduling: its predecessor settles, it starts from the queue, another queues.
   */
  @Benchmark
  public Reservation settleDispatchSubmit() {
    now += 1_000;
    scheduler.settle(running, Settlement.COMPLETED, 200, 40, RateLimitObservation.NONE, now);
    List<Reservation> started = scheduler.dispatch(now).admitted();
    if (started.size() != 1) {
      throw new IllegalStateException("expected one start, got " + started.size());
    }
    running = started.getFirst();
    if (!(scheduler.submit(nextDemand(), now) instanceof Admission.Queued)) {
      throw new IllegalStateException("expected the new request to queue");
    }
    return running;
  }
}
