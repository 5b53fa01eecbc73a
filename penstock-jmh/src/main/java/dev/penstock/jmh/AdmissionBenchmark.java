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
import dev.penstock.core.queue.Priority;
import java.util.ArrayList;
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
 * The cost of admitting one request and settling it — the scheduler's work on every request's path
 * — over a pool of many deployments. Time advances by {@code stepNanos} per operation, so
 * deployments go from ready to busy and back as they would under load: at 1,000,000 RPM a
 * deployment is ready again ~60 µs after its last request, so a step of 1 µs keeps about 60 of them
 * busy at any moment, and the choice scans a pool where most are ready.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AdmissionBenchmark {
  @Param({"10", "1000"})
  public int deployments;

  @Param({"1000"})
  public long stepNanos;

  private Scheduler scheduler;
  private Demand demand;
  private long now;

  @Setup(Level.Trial)
  public void setUp() {
    List<Topology.DeploymentSpec> specs = new ArrayList<>();
    long intervalNanos = deployments * stepNanos / 2;
    long rpm = Pacing.DEFAULT.spanNanos() / intervalNanos;
    for (int i = 0; i < deployments; i++) {
      specs.add(
          new Topology.DeploymentSpec(
              "d-" + i, DeploymentLimits.of(rpm, rpm * 10_000), 0, 1 + i % 3));
    }
    Topology topology =
        new Topology(List.of(new Topology.ModelRoute("m", specs, List.of())), Pacing.DEFAULT, 1000);
    scheduler = new Scheduler(topology, 0);
    demand = new Demand("m", "tenant", Priority.NORMAL, 200, 100, Long.MAX_VALUE);
  }

  /** One request: submit (admitted at once), then settle with real usage. */
  @Benchmark
  public Reservation reserveAndRelease() {
    now += stepNanos;
    Admission admission = scheduler.submit(demand, now);
    if (!(admission instanceof Admission.Admitted admitted)) {
      throw new IllegalStateException("expected an admission, got " + admission);
    }
    Reservation reservation = admitted.reservation();
    scheduler.settle(reservation, Settlement.COMPLETED, 200, 40, RateLimitObservation.NONE, now);
    return reservation;
  }
}
