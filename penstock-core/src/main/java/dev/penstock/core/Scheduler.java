package dev.penstock.core;

import dev.penstock.core.Admission.Admitted;
import dev.penstock.core.Admission.Queued;
import dev.penstock.core.Admission.Reason;
import dev.penstock.core.Admission.Rejected;
import dev.penstock.core.health.CircuitBreaker;
import dev.penstock.core.limit.Charge;
import dev.penstock.core.limit.DeploymentLimiter;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.core.limit.SharedCapacity;
import dev.penstock.core.queue.Priority;
import dev.penstock.core.queue.WaitQueue;
import dev.penstock.core.route.Pool;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * The scheduling state machine: decides, for each request, which deployment serves it and when.
 *
 * <h2>Design</h2>
 *
 * <p>Every public model has a {@link Pool} of deployments and a {@link WaitQueue}. A submitted
 * request starts at once when nothing of its priority waits ahead of it and a deployment can take
 * it now ({@link Pool#choose}). Otherwise it waits — unless the scheduler can already tell that it
 * cannot start before its deadline: then it is rejected at once, with the time after which a retry
 * could succeed. The estimate counts the requests that will be served before it (priority, then
 * tenant turns) and asks the pool when it offers that many slots ({@link Pool#slotTimeNanos}).
 *
 * <p>Waiting requests are started by {@link #dispatch}, which serves each queue in order for as
 * long as its pool has room, and rejects requests whose deadline passed. {@link #nextWakeNanos}
 * says when calling it again can make progress. The queue is strictly ordered: a large request at
 * the head waits for a deployment that can take its tokens even if smaller ones behind it would
 * fit, so that it is not starved.
 *
 * <p>A model whose pool has no usable deployment (all disabled, or their circuits open) routes to
 * its first usable fallback model, at submission and for requests already waiting.
 *
 * <p>A failed attempt ({@link #retry}) counts against the deployment's circuit breaker and the
 * request's attempts ({@link RetryPolicy}). While another deployment of the pool can serve it, the
 * request goes back to the front of its queue at once, passing over the deployments it failed on.
 * When none can, it waits out an exponential backoff with full jitter in a delayed set, then
 * returns to the front of its queue. A retry that could not start before the request's deadline is
 * not tried: the request ends with its last failure. Rate-limit answers ({@link #requeue}) are not
 * failures and use no attempt.
 *
 * <p>This class is pure and single-threaded: time is passed in, nothing blocks. {@link Admissions}
 * wraps it with a lock and parks request threads; the simulation tests drive it directly in virtual
 * time.
 */
public final class Scheduler {
  private Topology topology;
  private final Map<String, DeploymentLimiter> limiters = new HashMap<>();
  private final Map<String, Route> routes = new LinkedHashMap<>();

  /** Where each deployment sits: its pool and index there, for refreshing after a change. */
  private final Map<String, Location> locations = new HashMap<>();

  private final TreeSet<Ticket> byDeadline =
      new TreeSet<>(
          Comparator.comparingLong((Ticket t) -> t.demand().deadlineNanos())
              .thenComparingLong(Ticket::id));
  private long nextTicketId;
  private int queued;

  /** Reservations handed out and not yet settled, over all deployments. */
  private int outstanding;

  /** Deployments a reload removed while requests were in flight on them, until those settle. */
  private final java.util.Set<DeploymentLimiter> retired =
      java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

  /** Retries waiting out their backoff, by the time they may start. */
  private final TreeSet<Ticket> delayed =
      new TreeSet<>(
          Comparator.comparingLong((Ticket t) -> t.notBeforeNanos()).thenComparingLong(Ticket::id));

  private final RandomGenerator random;

  /** Circuit transitions not yet collected by {@link #drainHealthChanges}. */
  private final List<HealthChange> healthChanges = new ArrayList<>();

  /** A deployment's circuit changed state (for the operator's log). */
  public record HealthChange(
      String deployment, CircuitBreaker.State from, CircuitBreaker.State to) {}

  /** A model's pool and the requests waiting for it. */
  private static final class Route {
    final Topology.ModelRoute spec;
    final Pool pool;
    final WaitQueue<Ticket> queue;
    long queuedTokens;

    Route(Topology.ModelRoute spec, Pool pool, WaitQueue<Ticket> queue) {
      this.spec = spec;
      this.pool = pool;
      this.queue = queue;
    }
  }

  private record Location(Pool pool, int index) {}

  /** Requests that {@link #dispatch} started, and those it rejected (deadline passed). */
  public record Dispatch(List<Reservation> admitted, List<Rejection> rejected) {
    public boolean isEmpty() {
      return admitted.isEmpty() && rejected.isEmpty();
    }
  }

  /** A waiting request that will not be served after all. */
  public record Rejection(Ticket ticket, Rejected rejected) {}

  public Scheduler(Topology topology, long nowNanos) {
    this(topology, nowNanos, new SplittableRandom());
  }

  /**
   * @param random draws the backoff jitter; seed it for reproducible runs
   */
  public Scheduler(Topology topology, long nowNanos, RandomGenerator random) {
    this.topology = topology;
    this.random = random;
    configure(topology, nowNanos);
  }

  /**
   * Installs a new topology. Deployments keep their limit state across the change when their name
   * stays; requests waiting for a model that no longer exists are rejected by the next {@link
   * #dispatch}.
   */
  public void configure(Topology next, long nowNanos) {
    topology = next;
    Map<String, Route> old = new HashMap<>(routes);
    routes.clear();
    Map<String, DeploymentLimiter> kept = new HashMap<>();
    for (Topology.ModelRoute model : next.models()) {
      List<Pool.Member> members = new ArrayList<>();
      for (Topology.DeploymentSpec d : model.deployments()) {
        DeploymentLimiter limiter = limiters.get(d.name());
        if (limiter == null) {
          limiter = new DeploymentLimiter(d.name(), d.limits(), next.pacing(), next.breaker());
          if (sharing != null) {
            limiter.share(new SharedCapacity(sharing, limiter.rpm(), limiter.tpm(), nowNanos));
          }
        } else {
          limiter.reconfigure(d.limits(), next.pacing(), next.breaker());
        }
        kept.put(d.name(), limiter);
        members.add(new Pool.Member(limiter, d.tier(), d.weight()));
      }
      Route previous = old.remove(model.name());
      WaitQueue<Ticket> queue = previous == null ? new WaitQueue<>() : previous.queue;
      Route route = new Route(model, new Pool(model.name(), members, nowNanos), queue);
      route.queuedTokens = previous == null ? 0 : previous.queuedTokens;
      routes.put(model.name(), route);
    }
    locations.clear();
    for (Route route : routes.values()) {
      for (int i = 0; i < route.pool.size(); i++) {
        locations.put(route.pool.limiter(i).name(), new Location(route.pool, i));
      }
    }
    for (DeploymentLimiter removed : limiters.values()) {
      if (!kept.containsKey(removed.name()) && removed.inFlight() > 0) {
        retired.add(removed); // its requests in flight still settle on it
      }
    }
    limiters.clear();
    limiters.putAll(kept);
    for (Route gone : old.values()) {
      // Orphans: their model is gone. They stay findable through byDeadline and are rejected by
      // the next dispatch.
      for (Ticket t = gone.queue.poll(); t != null; t = gone.queue.poll()) {
        t.model("");
        orphans.add(t);
      }
    }
  }

  private final java.util.LinkedHashSet<Ticket> orphans = new java.util.LinkedHashSet<>();

  /** Cluster mode's settings, or null when this instance alone uses its deployments. */
  private SharedCapacity.@Nullable Settings sharing;

  /**
   * Cluster mode (SPEC 13): every deployment, present and future, is put under a {@link
   * SharedCapacity} gate, which starts on its fallback share until the first lease.
   */
  public void share(SharedCapacity.Settings settings, long nowNanos) {
    sharing = settings;
    for (DeploymentLimiter limiter : limiters.values()) {
      if (limiter.shared() == null) {
        limiter.share(new SharedCapacity(settings, limiter.rpm(), limiter.tpm(), nowNanos));
      }
    }
  }

  /**
   * What one deployment's gate holds and what this instance wants of it, for the cluster's next
   * call.
   *
   * @param queuedRequests requests waiting that this deployment could serve (a pool's queue split
   *     over its deployments by RPM, rounded up)
   * @param queuedTokens their tokens (at least the largest waiting request's)
   * @param top the highest priority waiting for it, or null when nothing waits
   * @param windowRequests what this instance started here in its own window (to re-seed a cluster
   *     that lost its state)
   */
  public record ShareState(
      String deployment,
      long rpm,
      long tpm,
      int queuedRequests,
      long queuedTokens,
      @Nullable Priority top,
      int slotsLeft,
      long tokensLeft,
      long leasedUntilNanos,
      long leasedStarts,
      long unreportedRequests,
      long unreportedTokens,
      long windowRequests,
      long windowTokens,
      boolean connected,
      List<long[]> startsToTell,
      boolean reseeding) {}

  /** Starts told to the cluster are grouped by when they stop counting, to the quarter second. */
  private static final long TELL_GROUP_NANOS = 250_000_000L;

  /** Every shared deployment's {@link ShareState}, in no particular order. */
  public List<ShareState> shareStates(long nowNanos) {
    Map<String, long[]> wants = new HashMap<>();
    Map<String, Priority> tops = new HashMap<>();
    for (Route route : routes.values()) {
      Ticket head = route.queue.peek();
      int waiting = route.queue.size();
      if (head == null || waiting == 0) {
        continue;
      }
      long rpmSum = 0;
      for (int i = 0; i < route.pool.size(); i++) {
        rpmSum += Math.max(1, route.pool.limiter(i).rpm());
      }
      long average = Math.max(head.demand().tokens(), route.queuedTokens / waiting);
      for (int i = 0; i < route.pool.size(); i++) {
        DeploymentLimiter limiter = route.pool.limiter(i);
        long count = (waiting * Math.max(1, limiter.rpm()) + rpmSum - 1) / rpmSum;
        long[] want = wants.computeIfAbsent(limiter.name(), k -> new long[2]);
        want[0] += count;
        want[1] += count * average;
        Priority top = tops.get(limiter.name());
        if (top == null || head.priority().compareTo(top) < 0) {
          tops.put(limiter.name(), head.priority());
        }
      }
    }
    List<ShareState> states = new ArrayList<>();
    for (DeploymentLimiter limiter : limiters.values()) {
      SharedCapacity gate = limiter.shared();
      if (gate == null) {
        continue;
      }
      long[] want = wants.getOrDefault(limiter.name(), new long[2]);
      states.add(
          new ShareState(
              limiter.name(),
              limiter.rpm(),
              limiter.tpm(),
              (int) Math.min(Integer.MAX_VALUE, want[0]),
              want[1],
              tops.get(limiter.name()),
              gate.slotsLeft(nowNanos),
              gate.tokensLeft(nowNanos),
              gate.leasedUntilNanos(nowNanos),
              gate.leasedStarts(),
              gate.unreportedRequests(),
              gate.unreportedTokens(),
              limiter.windowRequests(nowNanos),
              limiter.windowTokens(nowNanos),
              gate.connected(),
              limiter.startsToTell(nowNanos, TELL_GROUP_NANOS),
              gate.reseeding()));
    }
    return states;
  }

  /**
   * The cluster answered for {@code deployment}: it took {@code reportedRequests} and {@code
   * reportedTokens} of what was unreported and the starts told ({@link SharedCapacity#told}), and
   * granted a lease (see {@link SharedCapacity#lease}).
   */
  public void leaseGranted(
      String deployment,
      long nowNanos,
      long reportedRequests,
      long reportedTokens,
      long toldEntries,
      boolean toldWindow,
      long firstNanos,
      double intervalNanos,
      int count,
      long tokens,
      double share,
      long windowRequests,
      long windowTokens) {
    DeploymentLimiter limiter = limiters.get(deployment);
    SharedCapacity gate = limiter == null ? null : limiter.shared();
    if (limiter == null || gate == null) {
      return; // removed by a reload meanwhile
    }
    gate.reported(reportedRequests, reportedTokens);
    gate.told(toldEntries, toldWindow);
    gate.lease(
        nowNanos, firstNanos, intervalNanos, count, tokens, share, windowRequests, windowTokens);
    refresh(limiter, nowNanos);
  }

  /**
   * The cluster lost its state (its store restarted): each shared deployment is to report what this
   * instance started in its own window, in place of anything unreported.
   */
  public void shareReseed(long nowNanos) {
    for (DeploymentLimiter limiter : limiters.values()) {
      SharedCapacity gate = limiter.shared();
      if (gate != null) {
        gate.reseed();
      }
    }
  }

  /** The cluster cannot be reached: every shared deployment falls back to its fixed share. */
  public void shareLost(long nowNanos) {
    for (DeploymentLimiter limiter : limiters.values()) {
      SharedCapacity gate = limiter.shared();
      if (gate != null) {
        gate.lost(nowNanos);
        refresh(limiter, nowNanos);
      }
    }
  }

  /** Submits a request: it starts now, waits, or is rejected. */
  public Admission submit(Demand demand, long nowNanos) {
    Ticket ticket = new Ticket(nextTicketId++, demand, nowNanos);
    Route route = routeFor(demand.model(), nowNanos);
    if (route == null) {
      return reject(ticket, Reason.NO_DEPLOYMENT, 0, noDeploymentMessage(demand.model()));
    }
    ticket.model(route.spec.name());
    if (!route.pool.anyTpmTakes(demand.tokens())) {
      return reject(
          ticket,
          Reason.TOO_LARGE,
          0,
          "Request too large: it needs "
              + demand.tokens()
              + " tokens (prompt + output cap) but the"
              + " largest TPM limit of a deployment for '"
              + route.spec.name()
              + "' is "
              + route.pool.largestTpm()
              + ".");
    }
    long ahead = route.queue.ahead(demand.priority(), demand.tenant());
    if (ahead == 0) {
      int index = choose(route, ticket, nowNanos, Set.of());
      if (index >= 0) {
        return new Admitted(reserve(ticket, route, index, nowNanos));
      }
    }
    long start = estimatedStart(route, ahead, demand.tokens(), nowNanos);
    if (start == DeploymentLimiter.NEVER
        && route.pool.concurrencyBound(nowNanos, demand.tokens())) {
      // Every deployment that could serve it is at its max_concurrency: a slot frees when a
      // request in flight ends, which no rate can tell. It waits; its deadline bounds the wait.
      start = nowNanos;
    }
    if (queued >= topology.maxQueued()) {
      return reject(
          ticket,
          Reason.QUEUE_FULL,
          Math.max(0, start - nowNanos),
          "Penstock's queue is full (" + topology.maxQueued() + " requests waiting).");
    }
    if (start > demand.deadlineNanos()) {
      return reject(
          ticket,
          Reason.OVERLOADED,
          start - demand.deadlineNanos(),
          "All deployments for '"
              + route.spec.name()
              + "' are at their rate limits and this"
              + " request could not start before its deadline.");
    }
    ticket.estimatedStartNanos(start);
    enqueue(route, ticket, false);
    return new Queued(ticket);
  }

  /**
   * Ends a reservation: the attempt is over and the upstream answered (a success for its circuit
   * breaker, unless {@code settlement} is {@link Settlement#UNCOUNTED}: nothing was learned).
   * {@code promptTokens} and {@code completionTokens} are the upstream's reported usage, or -1 when
   * unknown.
   */
  public void settle(
      Reservation reservation,
      Settlement settlement,
      long promptTokens,
      long completionTokens,
      RateLimitObservation observation,
      long nowNanos) {
    judge(
        reservation.limiter(),
        nowNanos,
        health -> {
          if (settlement == Settlement.UNCOUNTED || settlement == Settlement.REFUSED) {
            health.onNeutral();
          } else {
            health.onSuccess(nowNanos);
          }
        });
    release(reservation, settlement, promptTokens, completionTokens, observation, nowNanos);
  }

  /**
   * Ends a reservation whose attempt failed and will not be retried (a stream that broke after the
   * client received part of it): the failure counts against the deployment's circuit.
   */
  public void fail(
      Reservation reservation,
      Settlement settlement,
      long promptTokens,
      long completionTokens,
      long nowNanos) {
    judge(reservation.limiter(), nowNanos, health -> health.onFailure(nowNanos));
    release(
        reservation,
        settlement,
        promptTokens,
        completionTokens,
        RateLimitObservation.NONE,
        nowNanos);
  }

  /**
   * Ends a reservation without a verdict on the deployment's health: its client left mid-attempt,
   * or its request left it unsettled (a bug, caught by the {@link ReservationScope} that held it).
   * It tells the circuit nothing, but frees it for the next probe if this attempt was one; {@code
   * settlement} says what the provider counts (use {@link Settlement#COUNTED} when unsure: the
   * attempt may have reached the upstream).
   */
  public void abandon(
      Reservation reservation,
      Settlement settlement,
      long promptTokens,
      long completionTokens,
      long nowNanos) {
    judge(reservation.limiter(), nowNanos, CircuitBreaker::onNeutral);
    release(
        reservation,
        settlement,
        promptTokens,
        completionTokens,
        RateLimitObservation.NONE,
        nowNanos);
  }

  /**
   * Ends a failed attempt (connection failure, timeout, a retryable {@code 5xx}) and decides the
   * request's next attempt: admitted now on another deployment, queued (at the front, or after a
   * backoff), or rejected with {@link Reason#FAILED} when no attempt is left or none could start
   * before the deadline.
   */
  public Admission retry(Reservation reservation, Settlement settlement, long nowNanos) {
    fail(reservation, settlement, -1, -1, nowNanos);
    Ticket ticket = reservation.ticket();
    ticket.failed(reservation.deployment());
    if (ticket.failures() >= topology.retry().attempts()) {
      return reject(ticket, Reason.FAILED, 0, "No attempts left.");
    }
    Route route = currentRoute(ticket, nowNanos);
    if (route == null) {
      return reject(ticket, Reason.NO_DEPLOYMENT, 0, noDeploymentMessage(ticket.demand().model()));
    }
    if (nowNanos >= ticket.demand().deadlineNanos()) {
      return reject(ticket, Reason.FAILED, 0, "No time left before the deadline.");
    }
    if (route.pool.hasAvailableOutside(nowNanos, ticket.avoid())) {
      // Straight on to another deployment, unless requests of a higher priority wait for one.
      int index =
          route.queue.waitingAbove(ticket.priority()) > 0
              ? -1
              : choose(route, ticket, nowNanos, ticket.avoid());
      if (index >= 0) {
        return new Admitted(reserve(ticket, route, index, nowNanos));
      }
      enqueue(route, ticket, true);
      return new Queued(ticket);
    }
    // Only deployments it failed on are left: try again after a backoff, wherever can serve then.
    ticket.forgetAvoided();
    long notBefore = nowNanos + topology.retry().backoffNanos(ticket.failures(), random);
    if (notBefore >= ticket.demand().deadlineNanos()) {
      return reject(ticket, Reason.FAILED, 0, "No time left for a retry before the deadline.");
    }
    ticket.notBeforeNanos(notBefore);
    ticket.state(Ticket.State.QUEUED);
    delayed.add(ticket);
    byDeadline.add(ticket);
    queued++;
    return new Queued(ticket);
  }

  /**
   * The result of an active health check of {@code deployment}: a failure counts against its
   * circuit; a pass ends an open circuit's open time now (see {@link
   * CircuitBreaker#onCheckPassed}).
   */
  public void healthChecked(String deployment, boolean passed, long nowNanos) {
    DeploymentLimiter limiter = limiters.get(deployment);
    if (limiter == null) {
      return; // removed by a reload while the check ran
    }
    judge(
        limiter,
        nowNanos,
        health -> {
          if (passed) {
            health.onCheckPassed(nowNanos);
          } else {
            health.onFailure(nowNanos);
          }
        });
    refresh(limiter, nowNanos);
  }

  /** Tells a deployment's circuit an outcome, noting the transition it causes. */
  private void judge(DeploymentLimiter limiter, long nowNanos, Consumer<CircuitBreaker> outcome) {
    CircuitBreaker health = limiter.health();
    CircuitBreaker.State before = health.state(nowNanos);
    outcome.accept(health);
    CircuitBreaker.State after = health.state(nowNanos);
    if (before != after) {
      healthChanges.add(new HealthChange(limiter.name(), before, after));
    }
  }

  /** The circuit transitions since the last call, oldest first. */
  public List<HealthChange> drainHealthChanges() {
    if (healthChanges.isEmpty()) {
      return List.of();
    }
    List<HealthChange> changes = List.copyOf(healthChanges);
    healthChanges.clear();
    return changes;
  }

  private void release(
      Reservation reservation,
      Settlement settlement,
      long promptTokens,
      long completionTokens,
      RateLimitObservation observation,
      long nowNanos) {
    reservation.markSettled();
    outstanding--;
    DeploymentLimiter limiter = reservation.limiter();
    limiter.settle(reservation.charge(), nowNanos, settlement, promptTokens, completionTokens);
    if (limiter.inFlight() == 0 && !retired.isEmpty()) {
      retired.remove(limiter);
    }
    if (!observation.isEmpty()) {
      limiter.observe(observation, nowNanos);
    }
    refresh(limiter, nowNanos);
  }

  /**
   * Settles a reservation that the upstream refused with a rate-limit answer, cools the deployment
   * down until {@code coolDownUntilNanos}, and puts the request back at the front of its queue: it
   * keeps its place and is not a failure.
   */
  public Admission requeue(
      Reservation reservation,
      long coolDownUntilNanos,
      RateLimitObservation observation,
      long nowNanos) {
    DeploymentLimiter limiter = reservation.limiter();
    limiter.coolDownUntil(coolDownUntilNanos);
    settle(reservation, Settlement.REFUSED, -1, -1, observation, nowNanos);
    Ticket ticket = reservation.ticket();
    Route route = currentRoute(ticket, nowNanos);
    if (route == null) {
      return reject(ticket, Reason.NO_DEPLOYMENT, 0, noDeploymentMessage(ticket.demand().model()));
    }
    if (nowNanos >= ticket.demand().deadlineNanos()) {
      return reject(ticket, Reason.OVERLOADED, 0, "The request's deadline passed.");
    }
    ticket.model(route.spec.name());
    enqueue(route, ticket, true);
    return new Queued(ticket);
  }

  /**
   * Withdraws a waiting request (its client left): O(1) in its queue, O(log n) in the deadline and
   * backoff orders. Returns false if it was no longer waiting.
   */
  public boolean cancel(Ticket ticket) {
    if (ticket.state() != Ticket.State.QUEUED) {
      return false;
    }
    Route route = routes.get(ticket.model());
    if (route != null && route.queue.remove(ticket)) {
      route.queuedTokens -= ticket.demand().tokens();
    }
    delayed.remove(ticket);
    orphans.remove(ticket);
    byDeadline.remove(ticket);
    queued--;
    ticket.state(Ticket.State.CANCELLED);
    return true;
  }

  /**
   * Starts every waiting request that can start now and rejects those past their deadline. When it
   * returns, nothing more can happen at {@code nowNanos}: {@link #nextWakeNanos} lies later.
   */
  public Dispatch dispatch(long nowNanos) {
    List<Reservation> admitted = new ArrayList<>();
    List<Rejection> rejected = new ArrayList<>();
    // Requests already past their deadline go first; one whose deadline is exactly now may still
    // start (its estimate said so), and is rejected only if it cannot.
    expire(nowNanos - 1, rejected);
    releaseDelayed(nowNanos, rejected);
    startHeads(nowNanos, admitted);
    int before = rejected.size();
    expire(nowNanos, rejected);
    if (rejected.size() > before) {
      startHeads(nowNanos, admitted); // a head that expired now may have held back others
    }
    return new Dispatch(admitted, rejected);
  }

  /** Starts queue heads, in order, for as long as their pools have room now. */
  private void startHeads(long nowNanos, List<Reservation> admitted) {
    for (Route route : routes.values()) {
      rerouteIfUnusable(route, nowNanos);
      for (Ticket head = route.queue.peek(); head != null; head = route.queue.peek()) {
        long tokens = head.demand().tokens();
        Set<String> avoid = avoidFor(route, head, nowNanos);
        int index = choose(route, head, nowNanos, avoid);
        if (index < 0 && !avoid.isEmpty() && choose(route, head, nowNanos, Set.of()) >= 0) {
          // Only deployments this retry failed on could take it now. It steps aside until another
          // can, rather than hold back the requests behind it (a retry that avoided the one idle
          // deployment once kept a whole queue waiting 30 s for a slow one).
          long other = earliestStart(route, head, nowNanos, avoid);
          if (other != DeploymentLimiter.NEVER && other < head.demand().deadlineNanos()) {
            route.queue.poll();
            route.queuedTokens -= tokens;
            head.notBeforeNanos(other);
            delayed.add(head); // still waiting: counted in queued and byDeadline as before
            continue;
          }
          head.forgetAvoided(); // no other deployment in time: one it failed on may serve it
          index = choose(route, head, nowNanos, Set.of());
        }
        if (index < 0) {
          break;
        }
        route.queue.poll();
        route.queuedTokens -= head.demand().tokens();
        byDeadline.remove(head);
        queued--;
        admitted.add(reserve(head, route, index, nowNanos));
      }
    }
  }

  /**
   * When calling {@link #dispatch} can next make progress: the earliest time a queue head can start
   * or a deadline passes; {@link DeploymentLimiter#NEVER} when nothing waits.
   */
  public long nextWakeNanos(long nowNanos) {
    long wake =
        byDeadline.isEmpty()
            ? DeploymentLimiter.NEVER
            : byDeadline.first().demand().deadlineNanos();
    if (!orphans.isEmpty()) {
      return nowNanos;
    }
    if (!delayed.isEmpty()) {
      wake = Math.min(wake, delayed.first().notBeforeNanos());
    }
    for (Route route : routes.values()) {
      Ticket head = route.queue.peek();
      if (head != null) {
        Set<String> avoid = avoidFor(route, head, nowNanos);
        wake = Math.min(wake, earliestStart(route, head, nowNanos, avoid));
        if (!avoid.isEmpty()) {
          // When any deployment could take it, a retry head starts or steps aside (startHeads).
          wake = Math.min(wake, earliestStart(route, head, nowNanos, Set.of()));
        }
      }
    }
    return wake;
  }

  /** How many requests wait, over all models. */
  public int queued() {
    return queued;
  }

  /** How many reservations were handed out and not yet settled (0 when the gateway is idle). */
  public int outstanding() {
    return outstanding;
  }

  /**
   * Checks the scheduler's bookkeeping in O(models + deployments); the simulation calls it after
   * every event. Holds: the count of waiting requests matches the queues, the backoff set and the
   * orphans, and the deadline order; a queue's token sum is zero exactly when it is empty; each
   * pool's cached ready times are safe; the outstanding reservations are the deployments' requests
   * in flight. {@link #checkInvariantsDeeply} checks every ticket as well.
   *
   * @throws IllegalStateException naming the first broken invariant
   */
  public void checkInvariants(long nowNanos) {
    int waiting = delayed.size() + orphans.size();
    for (Route route : routes.values()) {
      check(
          route.queue.isEmpty() ? route.queuedTokens == 0 : route.queuedTokens > 0,
          route.spec.name() + " holds " + route.queuedTokens + " queued tokens");
      waiting += route.queue.size();
      route.pool.checkInvariants(nowNanos);
    }
    check(queued == waiting, "queued is " + queued + " but " + waiting + " tickets wait");
    check(byDeadline.size() == queued, "the deadline order holds " + byDeadline.size());
    long inFlight = 0;
    for (DeploymentLimiter limiter : retired) {
      inFlight += limiter.inFlight();
    }
    for (DeploymentLimiter limiter : limiters.values()) {
      check(limiter.inFlight() >= 0, limiter.name() + " has negative requests in flight");
      inFlight += limiter.inFlight();
    }
    check(
        inFlight == outstanding,
        outstanding + " reservations outstanding but " + inFlight + " requests in flight");
  }

  /**
   * {@link #checkInvariants} and, ticket by ticket, in O(n log n): every waiting ticket is {@code
   * QUEUED}, in exactly one place (a queue, the backoff set or the orphans) and in the deadline
   * order; each queue's token sum is the sum of its tickets'; each queue's own structure is sound.
   */
  public void checkInvariantsDeeply(long nowNanos) {
    checkInvariants(nowNanos);
    for (Route route : routes.values()) {
      route.queue.checkInvariants();
      long[] tokens = {0};
      route.queue.forEach(
          t -> {
            tokens[0] += t.demand().tokens();
            check(t.state() == Ticket.State.QUEUED, t + " is queued but " + t.state());
            check(byDeadline.contains(t), t + " is queued but not in the deadline order");
            check(!delayed.contains(t) && !orphans.contains(t), t + " waits in two places");
          });
      check(route.queuedTokens == tokens[0], route.spec.name() + " counts its tokens wrong");
    }
    for (Ticket t : delayed) {
      check(t.state() == Ticket.State.QUEUED, t + " backs off but is " + t.state());
      check(byDeadline.contains(t), t + " backs off but is not in the deadline order");
    }
    for (Ticket t : orphans) {
      check(byDeadline.contains(t), t + " is orphaned but not in the deadline order");
    }
  }

  private static void check(boolean condition, String message) {
    if (!condition) {
      throw new IllegalStateException(message);
    }
  }

  /** How many requests wait for {@code model}, by priority. */
  public int queued(String model, dev.penstock.core.queue.Priority priority) {
    Route route = routes.get(model);
    return route == null ? 0 : route.queue.size(priority);
  }

  /** The limiter of a deployment, for inspection (admin, metrics); mutate only through here. */
  public Optional<DeploymentLimiter> deployment(String name) {
    return Optional.ofNullable(limiters.get(name));
  }

  /** Takes a deployment out of rotation (e.g. the upstream reported insufficient quota). */
  public void disable(String deployment, String reason, long nowNanos) {
    DeploymentLimiter limiter = limiters.get(deployment);
    if (limiter != null) {
      limiter.disable(reason);
      refresh(limiter, nowNanos);
    }
  }

  /**
   * Puts a disabled deployment back into rotation and closes its circuit (an operator's decision).
   */
  public void enable(String deployment, long nowNanos) {
    DeploymentLimiter limiter = limiters.get(deployment);
    if (limiter != null) {
      limiter.enable();
      limiter.health().reset();
      limiter.forgetLearned(); // a hostile or stale upstream signal must not outlive the operator
      refresh(limiter, nowNanos);
    }
  }

  /** The names of the deployments of every model, in configuration order. */
  public Map<String, List<String>> deploymentsByModel() {
    Map<String, List<String>> names = new LinkedHashMap<>();
    for (Topology.ModelRoute model : topology.models()) {
      names.put(
          model.name(), model.deployments().stream().map(Topology.DeploymentSpec::name).toList());
    }
    return names;
  }

  /** Rejects everything still waiting, for shutdown. */
  public List<Rejection> rejectAll(String message) {
    List<Rejection> rejected = new ArrayList<>();
    for (Ticket t : new ArrayList<>(byDeadline)) {
      cancel(t);
      t.state(Ticket.State.REJECTED);
      rejected.add(new Rejection(t, new Rejected(Reason.SHUTTING_DOWN, 0, message)));
    }
    return rejected;
  }

  // ---- internals ----

  /**
   * The route serving {@code model} now: its own pool while usable, else its first usable fallback,
   * else its own pool if it may recover (circuits open, not all disabled), else none.
   */
  private @Nullable Route routeFor(String model, long now) {
    Route route = routes.get(model);
    if (route == null || route.pool.usable(now)) {
      return route;
    }
    for (String fallback : route.spec.fallbacks()) {
      Route alternative = routes.get(fallback);
      if (alternative != null && alternative.pool.usable(now)) {
        return alternative;
      }
    }
    return route.pool.recoverable() ? route : null;
  }

  /**
   * The route a ticket returning to the queue belongs to (its model may be gone after a reload).
   */
  private @Nullable Route currentRoute(Ticket ticket, long nowNanos) {
    Route route = routes.get(ticket.model());
    if (route == null || !route.pool.usable(nowNanos)) {
      route = routeFor(ticket.demand().model(), nowNanos);
    }
    if (route != null) {
      ticket.model(route.spec.name());
    }
    return route;
  }

  /**
   * The deployments the queue head should pass over: those it failed on, as long as another
   * deployment of the pool can still serve it.
   */
  private Set<String> avoidFor(Route route, Ticket head, long nowNanos) {
    Set<String> avoid = head.avoid();
    if (avoid.isEmpty() || route.pool.hasAvailableOutside(nowNanos, avoid)) {
      return avoid;
    }
    head.forgetAvoided();
    return head.avoid();
  }

  /** Moves retries whose backoff ended to the front of their queue. */
  private void releaseDelayed(long nowNanos, List<Rejection> rejected) {
    while (!delayed.isEmpty() && delayed.first().notBeforeNanos() <= nowNanos) {
      Ticket ticket = delayed.pollFirst();
      byDeadline.remove(ticket);
      queued--;
      Route route = currentRoute(ticket, nowNanos);
      if (route == null) {
        ticket.state(Ticket.State.REJECTED);
        rejected.add(
            new Rejection(
                ticket,
                new Rejected(
                    Reason.NO_DEPLOYMENT, 0, noDeploymentMessage(ticket.demand().model()))));
      } else {
        enqueue(route, ticket, true);
      }
    }
  }

  private void rerouteIfUnusable(Route route, long nowNanos) {
    if (route.queue.isEmpty() || route.pool.usable(nowNanos)) {
      return;
    }
    Route alternative = routeFor(route.spec.name(), nowNanos);
    if (alternative == null || alternative == route) {
      return;
    }
    for (Ticket t = route.queue.poll(); t != null; t = route.queue.poll()) {
      route.queuedTokens -= t.demand().tokens();
      t.model(alternative.spec.name());
      alternative.queue.add(t);
      alternative.queuedTokens += t.demand().tokens();
    }
  }

  /**
   * The deployment that starts {@code ticket} now, or -1: batch work only on spare capacity ({@link
   * Pool#chooseBatch}).
   */
  private static int choose(Route route, Ticket ticket, long nowNanos, Set<String> avoid) {
    long tokens = ticket.demand().tokens();
    return ticket.priority() == Priority.BATCH
        ? route.pool.chooseBatch(nowNanos, tokens, avoid)
        : route.pool.choose(nowNanos, tokens, avoid);
  }

  /** When {@link #choose} could next find a deployment for {@code ticket}. */
  private static long earliestStart(Route route, Ticket ticket, long nowNanos, Set<String> avoid) {
    long tokens = ticket.demand().tokens();
    return ticket.priority() == Priority.BATCH
        ? route.pool.earliestBatchStartNanos(nowNanos, tokens, avoid)
        : route.pool.earliestStartNanos(nowNanos, tokens, avoid);
  }

  private Reservation reserve(Ticket ticket, Route route, int index, long nowNanos) {
    DeploymentLimiter limiter = route.pool.limiter(index);
    long prompt = ticket.demand().promptTokens();
    long output = ticket.demand().outputTokens();
    Charge charge =
        ticket.priority() == Priority.BATCH
            ? limiter.reserveBatch(nowNanos, prompt, output)
            : limiter.reserve(nowNanos, prompt, output);
    route.pool.refresh(index, nowNanos);
    ticket.state(Ticket.State.ADMITTED);
    outstanding++;
    return new Reservation(ticket, limiter, charge, nowNanos);
  }

  private void enqueue(Route route, Ticket ticket, boolean first) {
    if (first) {
      route.queue.addFirst(ticket);
    } else {
      route.queue.add(ticket);
    }
    route.queuedTokens += ticket.demand().tokens();
    ticket.state(Ticket.State.QUEUED);
    byDeadline.add(ticket);
    queued++;
  }

  private long estimatedStart(Route route, long ahead, long tokens, long nowNanos) {
    // Requests ahead cost about the average of what waits, and at least this one's size.
    long count = route.queue.size();
    long averageTokens = count == 0 ? tokens : Math.max(tokens, route.queuedTokens / count);
    return Math.max(nowNanos, route.pool.slotTimeNanos(nowNanos, ahead, averageTokens));
  }

  /** Rejects orphans and the requests whose deadline is at or before {@code nowNanos}. */
  private void expire(long nowNanos, List<Rejection> rejected) {
    for (Ticket orphan : orphans) {
      byDeadline.remove(orphan);
      queued--;
      orphan.state(Ticket.State.REJECTED);
      rejected.add(
          new Rejection(
              orphan,
              new Rejected(Reason.NO_DEPLOYMENT, 0, noDeploymentMessage(orphan.demand().model()))));
    }
    orphans.clear();
    while (!byDeadline.isEmpty() && byDeadline.first().demand().deadlineNanos() <= nowNanos) {
      Ticket late = byDeadline.pollFirst();
      delayed.remove(late);
      Route route = routes.get(late.model());
      if (route != null && route.queue.remove(late)) {
        route.queuedTokens -= late.demand().tokens();
      }
      queued--;
      late.state(Ticket.State.REJECTED);
      long retry =
          route == null
              ? 0
              : Math.max(
                  0,
                  estimatedStart(
                          route,
                          route.queue.ahead(late.priority(), late.tenant()),
                          late.demand().tokens(),
                          nowNanos)
                      - nowNanos
                      - (late.demand().deadlineNanos() - late.submittedNanos()));
      rejected.add(
          new Rejection(
              late,
              new Rejected(
                  Reason.OVERLOADED,
                  retry,
                  "The request waited until its deadline: all deployments for '"
                      + late.model()
                      + "' stayed at their rate limits.")));
    }
  }

  private Rejected reject(Ticket ticket, Reason reason, long retryAfterNanos, String message) {
    ticket.state(Ticket.State.REJECTED);
    return new Rejected(reason, retryAfterNanos, message);
  }

  private void refresh(DeploymentLimiter limiter, long nowNanos) {
    Location location = locations.get(limiter.name());
    if (location != null && location.pool().limiter(location.index()) == limiter) {
      location.pool().refresh(location.index(), nowNanos);
    }
  }

  private static String noDeploymentMessage(String model) {
    return "The model '" + model + "' has no usable deployment.";
  }
}
