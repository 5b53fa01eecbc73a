package dev.penstock.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.core.Admission.Admitted;
import dev.penstock.core.Admission.Queued;
import dev.penstock.core.Admission.Rejected;
import dev.penstock.core.limit.DeploymentLimits;
import dev.penstock.core.limit.Pacing;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.core.limit.TpmCharge;
import dev.penstock.core.queue.Priority;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A deterministic discrete-event simulation of the scheduler in virtual time: dozens of deployments
 * with mixed limits and tiers, tenants of every priority, bursts, and answers whose real usage
 * differs from the estimate. An independent referee plays the providers: it receives each request
 * some random network delay after Penstock sent it and counts it the way OpenAI does.
 *
 * <p>Asserted: no deployment ever exceeds its RPM or TPM in any 60-second window of arrivals (zero
 * upstream 429s); under overload the pool delivers at least 98% of its theoretical maximum; a lower
 * priority never starts while a higher one waits; a light tenant is not starved by a heavy one; and
 * a rejected request retried after its Retry-After gets in.
 */
class SchedulerSimulationTest {
  private static final long MS = 1_000_000L;
  private static final long S = 1000 * MS;
  private static final long MINUTE = 60 * S;

  /** One simulated upstream deployment's view: when requests arrived and what they were charged. */
  private static final class Referee {
    final String name;
    final long rpm;
    final long tpm;
    final List<long[]> arrivals = new ArrayList<>();

    Referee(String name, long rpm, long tpm) {
      this.name = name;
      this.rpm = rpm;
      this.tpm = tpm;
    }

    /** The largest request and token counts in any window (t - 60 s, t]. */
    long[] peaks() {
      List<long[]> sorted = new ArrayList<>(arrivals);
      sorted.sort((a, b) -> Long.compare(a[0], b[0]));
      long peakRequests = 0;
      long peakTokens = 0;
      long tokens = 0;
      int tail = 0;
      for (int head = 0; head < sorted.size(); head++) {
        long now = sorted.get(head)[0];
        tokens += sorted.get(head)[1];
        while (sorted.get(tail)[0] <= now - MINUTE) {
          tokens -= sorted.get(tail)[1];
          tail++;
        }
        peakRequests = Math.max(peakRequests, head - tail + 1);
        peakTokens = Math.max(peakTokens, tokens);
      }
      return new long[] {peakRequests, peakTokens};
    }
  }

  private record Event(long at, long seq, Runnable action) {}

  /**
   * Shares of attempts that fail and are retried, that the provider refuses with a 429, and that
   * break after the client got part of them; and the share of queued requests whose client leaves.
   */
  private record Faults(double failed, double rateLimited, double broken, double cancel) {}

  /** The harness: an event queue, the scheduler, the referees, and what happened. */
  private static final class Simulation {
    final SplittableRandom random;
    final Scheduler scheduler;
    final Map<String, Referee> referees = new HashMap<>();
    final PriorityQueue<Event> events =
        new PriorityQueue<>(
            (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
    final List<long[]> waitsByTenant = new ArrayList<>();
    final Map<String, Integer> rejectedByTenant = new HashMap<>();
    final Map<String, Integer> servedByTenant = new HashMap<>();
    final Map<String, List<Long>> admissionTimes = new HashMap<>();
    final List<String> violations = new ArrayList<>();
    final Map<String, Long> waits = new HashMap<>();
    long seq;
    long lastWake = Long.MIN_VALUE;
    long now;
    final Map<String, TpmCharge> charging = new HashMap<>();

    /** Upstream faults and impatient clients; null for a clean run. */
    Faults faults;

    long checks;
    int retriedAttempts;
    int requeued;
    int failedFinally;
    int cancelled;

    Simulation(Topology topology, long seed) {
      random = new SplittableRandom(seed);
      scheduler = new Scheduler(topology, 0);
      for (Topology.ModelRoute model : topology.models()) {
        for (Topology.DeploymentSpec d : model.deployments()) {
          referees.put(d.name(), new Referee(d.name(), d.limits().rpm(), d.limits().tpm()));
          charging.put(d.name(), d.limits().tpmCharge());
        }
      }
    }

    void at(long time, Runnable action) {
      events.add(new Event(time, seq++, action));
    }

    void run(long until) {
      while (!events.isEmpty() && events.peek().at <= until) {
        Event event = events.poll();
        now = event.at;
        event.action.run();
        afterEvent();
      }
    }

    private void afterEvent() {
      checkInvariants();
      Scheduler.Dispatch dispatch = scheduler.dispatch(now);
      for (Reservation r : dispatch.admitted()) {
        checkNoHigherPriorityWaits(r);
        started(r);
      }
      for (Scheduler.Rejection rejection : dispatch.rejected()) {
        rejectedByTenant.merge(rejection.ticket().tenant(), 1, Integer::sum);
      }
      checkInvariants();
      long wake = scheduler.nextWakeNanos(now);
      if (wake <= now) {
        // A dispatch at `now` did all it could; planning another one now would spin.
        violations.add("at " + now / MS + " ms the next wake is not later: " + wake / MS + " ms");
      }
      if (wake != Long.MAX_VALUE && wake != lastWake && wake >= now) {
        lastWake = wake;
        at(wake, () -> {});
      }
    }

    /** The cheap invariants after every event, every ticket's every thousandth time. */
    private void checkInvariants() {
      if (++checks % 1000 == 0) {
        scheduler.checkInvariantsDeeply(now);
      } else {
        scheduler.checkInvariants(now);
      }
    }

    void checkNoHigherPriorityWaits(Reservation r) {
      for (Priority higher : Priority.values()) {
        if (higher.compareTo(r.ticket().priority()) >= 0) {
          break;
        }
        if (scheduler.queued(r.ticket().model(), higher) > 0) {
          violations.add(r.ticket() + " started while " + higher + " requests waited");
        }
      }
    }

    /** A client request: submit now, and record what becomes of it. */
    void request(
        String model, String tenant, Priority priority, long prompt, long cap, long timeout) {
      Demand demand = new Demand(model, tenant, priority, prompt, cap, now + timeout);
      Admission admission = scheduler.submit(demand, now);
      switch (admission) {
        case Admitted a -> started(a.reservation());
        case Queued q -> {
          if (faults != null && random.nextDouble() < faults.cancel()) {
            // The client gives up some time before its deadline (or never gets the chance).
            at(
                now + random.nextLong(timeout),
                () -> {
                  if (scheduler.cancel(q.ticket())) {
                    cancelled++;
                  }
                });
          }
        }
        case Rejected r -> rejectedByTenant.merge(tenant, 1, Integer::sum);
      }
    }

    /** The request leaves for its deployment; the referee sees it a network delay later. */
    void started(Reservation r) {
      Ticket t = r.ticket();
      admissionTimes.computeIfAbsent(t.model(), m -> new ArrayList<>()).add(now);
      servedByTenant.merge(t.tenant(), 1, Integer::sum);
      waitsByTenant.add(new long[] {t.tenant().hashCode(), now - t.submittedNanos()});
      waits.merge(t.tenant(), now - t.submittedNanos(), Math::max);
      long prompt = t.demand().promptTokens();
      long cap = t.demand().outputTokens();
      long completion = (long) (cap * (0.1 + 0.9 * random.nextDouble()));
      long arrival = now + random.nextLong(400 * MS);
      long charged =
          charging.get(r.deployment()) == TpmCharge.USAGE ? prompt + completion : prompt + cap;
      referees.get(r.deployment()).arrivals.add(new long[] {arrival, charged});
      long latency = 300 * MS + completion * 10 * MS;
      double roll = faults == null ? 1 : random.nextDouble();
      if (faults != null && roll < faults.rateLimited()) {
        // A 429 from the provider: it did not count the request (undo the referee's arrival).
        referees.get(r.deployment()).arrivals.removeLast();
        at(now + 50 * MS, () -> requeue(r));
        return;
      }
      if (faults != null && roll < faults.rateLimited() + faults.failed()) {
        at(now + latency / 3, () -> retry(r));
        return;
      }
      if (faults != null && roll < faults.rateLimited() + faults.failed() + faults.broken()) {
        at(now + latency / 2, () -> scheduler.fail(r, Settlement.COUNTED, prompt, -1, now));
        return;
      }
      at(
          now + latency,
          () ->
              scheduler.settle(
                  r, Settlement.COMPLETED, prompt, completion, RateLimitObservation.NONE, now));
    }

    /** The attempt failed (a 5xx, a timeout): the scheduler decides the next attempt. */
    void retry(Reservation r) {
      switch (scheduler.retry(r, Settlement.COUNTED, now)) {
        case Admitted a -> {
          retriedAttempts++;
          checkNoHigherPriorityWaits(a.reservation());
          started(a.reservation());
        }
        case Queued q -> retriedAttempts++;
        case Rejected rejected -> failedFinally++;
      }
    }

    /** The provider answered 429: the request goes back to the front of its queue. */
    void requeue(Reservation r) {
      switch (scheduler.requeue(r, now + S, RateLimitObservation.NONE, now)) {
        case Admitted a -> violations.add("a requeue started at once: " + a.reservation().ticket());
        case Queued q -> requeued++;
        case Rejected rejected -> failedFinally++;
      }
    }

    /** Installs a new topology now, with referees for deployments it adds. */
    void reconfigure(Topology next) {
      for (Topology.ModelRoute model : next.models()) {
        for (Topology.DeploymentSpec d : model.deployments()) {
          referees.computeIfAbsent(
              d.name(), n -> new Referee(n, d.limits().rpm(), d.limits().tpm()));
          charging.putIfAbsent(d.name(), d.limits().tpmCharge());
        }
      }
      scheduler.configure(next, now);
    }

    List<String> limitViolations() {
      List<String> over = new ArrayList<>();
      for (Referee referee : referees.values()) {
        long[] peaks = referee.peaks();
        if (peaks[0] > referee.rpm || peaks[1] > referee.tpm) {
          over.add(
              referee.name
                  + " peak "
                  + peaks[0]
                  + "/"
                  + referee.rpm
                  + " RPM, "
                  + peaks[1]
                  + "/"
                  + referee.tpm
                  + " TPM");
        }
      }
      return over;
    }
  }

  private static Topology.DeploymentSpec deployment(
      String name, long rpm, long tpm, int tier, double weight, TpmCharge charge) {
    return new Topology.DeploymentSpec(
        name, new DeploymentLimits(rpm, tpm, 0, charge), tier, weight);
  }

  /** 30 chat deployments of five sizes (4 of them a higher-tier relay) and 6 for embeddings. */
  private static Topology mixedPool() {
    long[][] sizes = {
      {60, 60_000}, {200, 200_000}, {500, 500_000}, {1000, 1_000_000}, {120, 120_000}
    };
    List<Topology.DeploymentSpec> chat = new ArrayList<>();
    for (int i = 0; i < 26; i++) {
      long[] size = sizes[i % sizes.length];
      chat.add(
          deployment(
              "chat-" + i,
              size[0],
              size[1],
              0,
              1 + i % 3,
              i % 4 == 0 ? TpmCharge.USAGE : TpmCharge.ESTIMATE));
    }
    for (int i = 0; i < 4; i++) {
      chat.add(deployment("relay-" + i, 300, 300_000, 1, 1, TpmCharge.ESTIMATE));
    }
    List<Topology.DeploymentSpec> embed = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      embed.add(deployment("embed-" + i, 300, 1_000_000, 0, 1, TpmCharge.USAGE));
    }
    return new Topology(
        List.of(
            new Topology.ModelRoute("chat", chat, List.of()),
            new Topology.ModelRoute("embed", embed, List.of())),
        Pacing.DEFAULT,
        100_000);
  }

  private static long rpmOf(Topology topology, String model) {
    return topology.models().stream()
        .filter(m -> m.name().equals(model))
        .flatMap(m -> m.deployments().stream())
        .mapToLong(d -> d.limits().rpm())
        .sum();
  }

  /** Poisson arrivals of one tenant's traffic between {@code from} and {@code to}. */
  private static void traffic(
      Simulation sim,
      String model,
      String tenant,
      Priority priority,
      double perMinute,
      long from,
      long to,
      long timeout) {
    double meanGapNanos = MINUTE / perMinute;
    long t = from;
    while (true) {
      t += (long) (-Math.log(1 - sim.random.nextDouble()) * meanGapNanos);
      if (t >= to) {
        return;
      }
      long prompt = 20 + sim.random.nextLong(400);
      long cap = 16 + sim.random.nextLong(240);
      sim.at(t, () -> sim.request(model, tenant, priority, prompt, cap, timeout));
    }
  }

  @Test
  void overloadedMixedPoolNeverExceedsALimitAndDeliversItsCapacityInOrder() {
    Topology topology = mixedPool();
    long capacity = rpmOf(topology, "chat");
    Simulation sim = new Simulation(topology, 2026);

    // Five minutes at 1.6x capacity from a heavy tenant, a light tenant well under its fair share,
    // a little high-priority traffic, low-priority work, batch lines on spare capacity, a burst,
    // embeddings on the side;
    // then two quiet minutes.
    traffic(sim, "chat", "heavy", Priority.NORMAL, capacity * 1.6, 0, 5 * MINUTE, 30 * S);
    traffic(sim, "chat", "light", Priority.NORMAL, capacity * 0.05, 0, 7 * MINUTE, 30 * S);
    traffic(sim, "chat", "vip", Priority.HIGH, capacity * 0.1, 0, 7 * MINUTE, 10 * S);
    traffic(sim, "chat", "batch", Priority.LOW, capacity * 0.2, 0, 7 * MINUTE, 120 * S);
    traffic(sim, "chat", "spare", Priority.BATCH, capacity * 0.05, 0, 7 * MINUTE, 3600 * S);
    traffic(sim, "embed", "heavy", Priority.NORMAL, 1500, 0, 7 * MINUTE, 30 * S);
    for (int i = 0; i < 2000; i++) {
      long at = 2 * MINUTE + sim.random.nextLong(S);
      sim.at(at, () -> sim.request("chat", "heavy", Priority.NORMAL, 100, 100, 30 * S));
    }
    sim.run(10 * MINUTE);

    assertThat(sim.limitViolations()).as("windows over a limit (would be upstream 429s)").isEmpty();
    assertThat(sim.violations).as("priority inversions").isEmpty();
    assertThat(sim.scheduler.queued()).as("nothing left waiting").isZero();

    // Throughput over the saturated stretch, against the sum of the chat deployments' RPM.
    long delivered =
        sim.admissionTimes.get("chat").stream().filter(t -> t >= MINUTE && t < 5 * MINUTE).count();
    double ratio = delivered / (capacity * 4.0);
    assertThat(ratio)
        .as("delivered / theoretical maximum under overload")
        .isGreaterThanOrEqualTo(0.98);

    // Fairness: the light tenant is served promptly; the heavy one absorbs the overload.
    assertThat(sim.rejectedByTenant.getOrDefault("light", 0)).isZero();
    assertThat(sim.waits.get("light")).as("light tenant's longest wait").isLessThan(3 * S);
    assertThat(sim.rejectedByTenant.getOrDefault("heavy", 0)).isPositive();
    assertThat(sim.rejectedByTenant.getOrDefault("vip", 0)).isZero();
    assertThat(sim.waits.get("vip")).isLessThan(2 * S);
  }

  @Test
  void twoBusyTenantsAtTheSamePriorityShareThePoolEqually() {
    Topology topology =
        new Topology(
            List.of(
                new Topology.ModelRoute(
                    "chat",
                    List.of(
                        deployment("a", 200, 1_000_000, 0, 1, TpmCharge.ESTIMATE),
                        deployment("b", 200, 1_000_000, 0, 1, TpmCharge.ESTIMATE)),
                    List.of())),
            Pacing.DEFAULT,
            100_000);
    Simulation sim = new Simulation(topology, 7);
    traffic(sim, "chat", "one", Priority.NORMAL, 1200, 0, 3 * MINUTE, 600 * S);
    traffic(sim, "chat", "two", Priority.NORMAL, 600, 0, 3 * MINUTE, 600 * S);
    sim.run(3 * MINUTE);
    int one = sim.servedByTenant.getOrDefault("one", 0);
    int two = sim.servedByTenant.getOrDefault("two", 0);
    assertThat((double) two / (one + two)).isBetween(0.47, 0.53);
    assertThat(sim.limitViolations()).isEmpty();
  }

  @Test
  void tokenBoundPoolDeliversItsTokenCapacity() {
    List<Topology.DeploymentSpec> deployments = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      deployments.add(deployment("t-" + i, 200, 40_000, 0, 1, TpmCharge.ESTIMATE));
    }
    Topology topology =
        new Topology(
            List.of(new Topology.ModelRoute("chat", deployments, List.of())),
            Pacing.DEFAULT,
            100_000);
    Simulation sim = new Simulation(topology, 11);
    // Long prompts and large caps: about 2,500 tokens a request, so TPM binds at ~16 RPM a key.
    double meanGap = MINUTE / 200.0;
    long t = 0;
    while (t < 6 * MINUTE) {
      t += (long) (-Math.log(1 - sim.random.nextDouble()) * meanGap);
      long prompt = 1000 + sim.random.nextLong(1000);
      long cap = 1000;
      sim.at(t, () -> sim.request("chat", "x", Priority.NORMAL, prompt, cap, 600 * S));
    }
    sim.run(6 * MINUTE);
    assertThat(sim.limitViolations()).isEmpty();
    long tokens = 0;
    for (Referee referee : sim.referees.values()) {
      tokens +=
          referee.arrivals.stream()
              .filter(a -> a[0] >= MINUTE && a[0] < 6 * MINUTE)
              .mapToLong(a -> a[1])
              .sum();
    }
    double ratio = tokens / (6 * 40_000.0 * 5);
    assertThat(ratio).as("tokens delivered / aggregate TPM").isGreaterThanOrEqualTo(0.90);
  }

  /**
   * A burst beyond what the pool can start in time, then silence. Each rejected request is retried
   * alone — in a fresh replay of the same burst — exactly when its Retry-After said: it must get in
   * and start before its deadline. One second earlier it must still be refused, so the advice is
   * not padded either.
   */
  @Test
  void everyRetryAfterIsTruthful() {
    List<long[]> rejections = new ArrayList<>();
    Simulation burst = burst(rejections, -1, new Admission[1]);
    assertThat(rejections).hasSizeGreaterThan(10);
    assertThat(burst.limitViolations()).isEmpty();
    for (int k = 0; k < rejections.size(); k += 7) {
      long[] rejection = rejections.get(k);
      long retryAt = rejection[0] + rejection[1];
      Admission[] retry = new Admission[1];
      burst(new ArrayList<>(), retryAt, retry);
      String what = "retry of rejection " + k + " at +" + rejection[1] / MS + " ms";
      assertThat(retry[0]).as(what).isNotInstanceOf(Rejected.class);
      if (retry[0] instanceof Queued queued) {
        assertThat(queued.ticket().state())
            .as(what + " started before its deadline")
            .isEqualTo(Ticket.State.ADMITTED);
      }
      if (rejection[1] >= S) {
        Admission[] early = new Admission[1];
        burst(new ArrayList<>(), retryAt - S, early);
        assertThat(early[0])
            .as("a retry one second early is still refused")
            .isInstanceOf(Rejected.class);
      }
    }
  }

  /**
   * 600 requests within a second on 3 x 200 RPM with a 20 s deadline, then silence; optionally one
   * more request of the same tenant at {@code retryAt}, whose admission lands in {@code retry}.
   */
  private static Simulation burst(List<long[]> rejections, long retryAt, Admission[] retry) {
    List<Topology.DeploymentSpec> deployments = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      deployments.add(deployment("b-" + i, 200, 1_000_000, 0, 1, TpmCharge.ESTIMATE));
    }
    Topology topology =
        new Topology(
            List.of(new Topology.ModelRoute("chat", deployments, List.of())),
            Pacing.DEFAULT,
            100_000);
    Simulation sim = new Simulation(topology, 3);
    for (int i = 0; i < 600; i++) {
      long at = i * (S / 600);
      sim.at(
          at,
          () -> {
            Demand demand = new Demand("chat", "burst", Priority.NORMAL, 50, 50, sim.now + 20 * S);
            Admission admission = sim.scheduler.submit(demand, sim.now);
            switch (admission) {
              case Admitted a -> sim.started(a.reservation());
              case Queued q -> {}
              case Rejected r -> rejections.add(new long[] {sim.now, r.retryAfterNanos()});
            }
          });
    }
    if (retryAt >= 0) {
      sim.at(
          retryAt,
          () -> {
            Demand demand = new Demand("chat", "burst", Priority.NORMAL, 50, 50, sim.now + 20 * S);
            retry[0] = sim.scheduler.submit(demand, sim.now);
            if (retry[0] instanceof Admitted a) {
              sim.started(a.reservation());
            }
          });
    }
    sim.run(5 * MINUTE);
    return sim;
  }

  /**
   * The same pool under a hostile world: attempts fail and are retried (on another deployment, or
   * after a backoff), the provider refuses some with 429s (requeued at the front), some streams
   * break, clients leave while they wait, and a reload removes a deployment, adds one, drops a
   * model with requests waiting for it and moves tiers — in the middle of the overload. The
   * scheduler's invariants hold after every event, every planned wake makes progress, no window
   * exceeds a limit, no priority is inverted, and when the dust settles nothing waits and no
   * reservation is open.
   */
  @Test
  void retriesRequeuesCancelsAndAReloadKeepEveryInvariant() {
    Topology topology = withExtraModel(mixedPool());
    long capacity = rpmOf(topology, "chat");
    Simulation sim = new Simulation(topology, 4242);
    sim.faults = new Faults(0.08, 0.04, 0.02, 0.15);
    traffic(sim, "chat", "heavy", Priority.NORMAL, capacity * 1.4, 0, 4 * MINUTE, 30 * S);
    traffic(sim, "chat", "vip", Priority.HIGH, capacity * 0.1, 0, 4 * MINUTE, 10 * S);
    traffic(sim, "chat", "batch", Priority.LOW, capacity * 0.2, 0, 4 * MINUTE, 120 * S);
    traffic(sim, "extra", "heavy", Priority.NORMAL, 900, 0, 4 * MINUTE, 60 * S);
    sim.at(2 * MINUTE, () -> sim.reconfigure(reloaded(mixedPool())));
    sim.run(15 * MINUTE);

    assertThat(sim.violations).as("progress and priority order").isEmpty();
    assertThat(sim.limitViolations()).as("windows over a limit").isEmpty();
    assertThat(sim.retriedAttempts).as("retries happened").isGreaterThan(100);
    assertThat(sim.requeued).as("requeues happened").isGreaterThan(50);
    assertThat(sim.cancelled).as("clients left while waiting").isGreaterThan(50);
    assertThat(sim.failedFinally).as("some requests ran out of attempts").isPositive();
    assertThat(sim.scheduler.queued()).as("nothing left waiting").isZero();
    assertThat(sim.scheduler.outstanding()).as("no reservation left open").isZero();
    sim.scheduler.checkInvariantsDeeply(sim.now);
  }

  /** The mixed pool plus a model of its own, which the reload removes. */
  private static Topology withExtraModel(Topology base) {
    List<Topology.ModelRoute> models = new ArrayList<>(base.models());
    models.add(
        new Topology.ModelRoute(
            "extra",
            List.of(
                deployment("extra-0", 300, 300_000, 0, 1, TpmCharge.ESTIMATE),
                deployment("extra-1", 300, 300_000, 0, 1, TpmCharge.ESTIMATE)),
            List.of()));
    return new Topology(models, base.pacing(), base.maxQueued());
  }

  /** chat-3 removed, chat-new added, the relays moved into tier 0; the extra model gone. */
  private static Topology reloaded(Topology base) {
    List<Topology.ModelRoute> models = new ArrayList<>();
    for (Topology.ModelRoute model : base.models()) {
      List<Topology.DeploymentSpec> deployments = new ArrayList<>();
      for (Topology.DeploymentSpec d : model.deployments()) {
        if (d.name().equals("chat-3")) {
          continue;
        }
        deployments.add(
            d.name().startsWith("relay-")
                ? new Topology.DeploymentSpec(d.name(), d.limits(), 0, 2)
                : d);
      }
      if (model.name().equals("chat")) {
        deployments.add(deployment("chat-new", 400, 400_000, 0, 1, TpmCharge.ESTIMATE));
      }
      models.add(new Topology.ModelRoute(model.name(), deployments, model.fallbacks()));
    }
    return new Topology(models, base.pacing(), base.maxQueued());
  }
}
