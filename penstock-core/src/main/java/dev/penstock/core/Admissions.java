package dev.penstock.core;

import dev.penstock.core.Admission.Admitted;
import dev.penstock.core.Admission.Queued;
import dev.penstock.core.Admission.Rejected;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.core.time.Ticker;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * The blocking front of the {@link Scheduler}: request threads call {@link #acquire} and park until
 * their request may start, or get an {@link AdmissionRejectedException}.
 *
 * <h2>Threads and locks</h2>
 *
 * <p>One {@link ReentrantLock} guards the scheduler; it is held for the microseconds a decision
 * takes, never across I/O or a park. Request threads (virtual threads, one per request) submit
 * under the lock; when they must wait they park on their own {@link Waiter}. One dispatcher thread
 * wakes when capacity may have appeared — at the scheduler's {@link Scheduler#nextWakeNanos}, or
 * when signalled after a settlement or a new waiter — dispatches under the lock, then unparks the
 * threads it admitted or rejected. A signal that arrives while the dispatcher is busy is not lost:
 * {@link LockSupport#unpark} leaves a permit that its next park consumes at once.
 *
 * <p>A waiting request is withdrawn in O(1) when its {@link CancelSignal} fires (its client left):
 * the signal's action, run on the cancelling thread, takes the ticket out of the queue under the
 * lock and unparks the request thread with a {@link Admission.Reason#CANCELLED} rejection. If the
 * dispatcher admitted it first, the request thread gets its reservation as usual and must settle it
 * (unsent: {@link Settlement#UNCOUNTED}).
 *
 * <p>Reservations are settled exactly once. A {@link ReservationScope}, closed in a {@code
 * finally}, settles one that its request left open, counts it ({@link #leakedReservations}) and
 * reports it to the {@link #onLeak} listener: a leak is a bug, but it never costs a deployment its
 * capacity.
 *
 * <p>Tests construct it without the dispatcher thread and call {@link #dispatchNow()} after moving
 * a fake ticker, so that no test depends on real time.
 */
public final class Admissions implements AutoCloseable {
  private final ReentrantLock lock = new ReentrantLock();
  private final Ticker ticker;
  // Guarded by lock.
  private final Scheduler scheduler;
  private final Map<Ticket, Waiter> waiters = new HashMap<>();
  private @Nullable Thread dispatcher;
  private volatile boolean closed;
  private volatile Consumer<Scheduler.HealthChange> healthListener = change -> {};
  private volatile Consumer<Reservation> leakListener = reservation -> {};
  private volatile Runnable queuedListener = () -> {};
  private final java.util.concurrent.atomic.AtomicLong leaked =
      new java.util.concurrent.atomic.AtomicLong();

  private static final Rejected CANCELLED =
      new Rejected(Admission.Reason.CANCELLED, 0, "The client withdrew the request.");

  /** A parked request thread and what it is waiting for. */
  private static final class Waiter {
    final Thread thread;
    final Ticket ticket;
    volatile @Nullable Reservation reservation;
    volatile @Nullable Rejected rejection;

    Waiter(Thread thread, Ticket ticket) {
      this.thread = thread;
      this.ticket = ticket;
    }

    boolean done() {
      return reservation != null || rejection != null;
    }
  }

  /**
   * @param startDispatcher false in tests that drive {@link #dispatchNow()} themselves
   */
  public Admissions(Topology topology, Ticker ticker, boolean startDispatcher) {
    this(topology, ticker, startDispatcher, new java.util.SplittableRandom());
  }

  /**
   * @param random draws backoff jitter (seeded in tests)
   */
  public Admissions(
      Topology topology, Ticker ticker, boolean startDispatcher, RandomGenerator random) {
    this.ticker = ticker;
    this.scheduler = new Scheduler(topology, ticker.nanos(), random);
    if (startDispatcher) {
      dispatcher =
          Thread.ofPlatform().name("penstock-dispatcher").daemon().start(this::dispatchLoop);
    }
  }

  /**
   * Waits until the request may start and returns its reservation, which the caller must settle
   * exactly once. Throws {@link AdmissionRejectedException} when it will not be served, and {@link
   * InterruptedException} (after withdrawing it) when the caller gives up.
   */
  public Reservation acquire(Demand demand) throws InterruptedException {
    return acquire(demand, CancelSignal.NEVER);
  }

  /**
   * Like {@link #acquire(Demand)}; when {@code cancel} fires while the request waits, it is
   * withdrawn and this throws {@link AdmissionRejectedException} with {@link
   * Admission.Reason#CANCELLED}.
   */
  public Reservation acquire(Demand demand, CancelSignal cancel) throws InterruptedException {
    return startOrWait(() -> submit(demand), cancel);
  }

  /**
   * Acquires capacity for {@code demand} inside a scope that holds the request's reservation across
   * its attempts and, when closed, settles whatever its request left open.
   */
  public ReservationScope scope(Demand demand, CancelSignal cancel) throws InterruptedException {
    return new ReservationScope(this, acquire(demand, cancel), cancel);
  }

  private Admission submit(Demand demand) {
    if (closed) {
      return new Rejected(Admission.Reason.SHUTTING_DOWN, 0, "Penstock is shutting down.");
    }
    return scheduler.submit(demand, ticker.nanos());
  }

  /**
   * After an upstream rate-limit answer: returns the reservation, cools its deployment down until
   * {@code coolDownUntilNanos}, and waits for another start — at the front of the queue.
   */
  public Reservation reacquire(
      Reservation reservation, long coolDownUntilNanos, RateLimitObservation observation)
      throws InterruptedException {
    return reacquire(reservation, coolDownUntilNanos, observation, CancelSignal.NEVER);
  }

  /** Like {@link #reacquire(Reservation, long, RateLimitObservation)}, withdrawn on cancel. */
  public Reservation reacquire(
      Reservation reservation,
      long coolDownUntilNanos,
      RateLimitObservation observation,
      CancelSignal cancel)
      throws InterruptedException {
    return startOrWait(
        () -> scheduler.requeue(reservation, coolDownUntilNanos, observation, ticker.nanos()),
        cancel);
  }

  /**
   * After a failed attempt: returns the reservation, counts the failure against its deployment's
   * circuit, and waits for the next attempt — on another deployment at once when one can serve,
   * else after a backoff. Throws {@link AdmissionRejectedException} (reason {@link
   * Admission.Reason#FAILED}) when no attempt is left or none could start before the deadline.
   */
  public Reservation retry(Reservation reservation, Settlement settlement)
      throws InterruptedException {
    return retry(reservation, settlement, CancelSignal.NEVER);
  }

  /** Like {@link #retry(Reservation, Settlement)}, withdrawn on cancel. */
  public Reservation retry(Reservation reservation, Settlement settlement, CancelSignal cancel)
      throws InterruptedException {
    return startOrWait(
        () -> {
          if (closed) {
            scheduler.fail(reservation, settlement, -1, -1, ticker.nanos());
            return new Rejected(Admission.Reason.SHUTTING_DOWN, 0, "Penstock is shutting down.");
          }
          Admission next = scheduler.retry(reservation, settlement, ticker.nanos());
          signal(); // the failed attempt's capacity is free again for whoever waits
          return next;
        },
        cancel);
  }

  /**
   * Ends an attempt that failed and will not be retried (a stream broken after its first byte
   * reached the client); see {@link Scheduler#fail}.
   */
  public void fail(
      Reservation reservation, Settlement settlement, long promptTokens, long completionTokens) {
    judge(
        () ->
            scheduler.fail(
                reservation, settlement, promptTokens, completionTokens, ticker.nanos()));
  }

  /**
   * Ends an attempt whose client left: no verdict on the deployment's health; see {@link
   * Scheduler#abandon}.
   */
  public void leave(
      Reservation reservation, Settlement settlement, long promptTokens, long completionTokens) {
    judge(
        () ->
            scheduler.abandon(
                reservation, settlement, promptTokens, completionTokens, ticker.nanos()));
  }

  /** Records an active health check's result; see {@link Scheduler#healthChecked}. */
  public void healthChecked(String deployment, boolean passed) {
    judge(() -> scheduler.healthChecked(deployment, passed, ticker.nanos()));
  }

  /** Tells {@code listener} of every circuit transition, outside the lock (for the log). */
  public void onHealthChange(Consumer<Scheduler.HealthChange> listener) {
    healthListener = listener;
  }

  /**
   * Tells {@code listener} of every reservation that a {@link ReservationScope} found unsettled
   * when its request ended (for the log), after it was settled.
   */
  public void onLeak(Consumer<Reservation> listener) {
    leakListener = listener;
  }

  /** How many reservations their requests left unsettled (0 unless there is a bug). */
  public long leakedReservations() {
    return leaked.get();
  }

  /**
   * Settles {@code reservation} if it is still open — a leak: counted, reported, and the estimate
   * kept charged. Returns whether it was open.
   */
  boolean abandonIfOpen(Reservation reservation) {
    boolean open;
    List<Scheduler.HealthChange> changes;
    lock.lock();
    try {
      open = !reservation.settled();
      if (open) {
        scheduler.abandon(reservation, Settlement.COUNTED, -1, -1, ticker.nanos());
      }
      changes = scheduler.drainHealthChanges();
    } finally {
      lock.unlock();
    }
    if (open) {
      leaked.incrementAndGet();
      signal();
      leakListener.accept(reservation);
    }
    changes.forEach(healthListener);
    return open;
  }

  /**
   * Runs an outcome on the scheduler under the lock, then (outside it) wakes the dispatcher — a
   * deployment's readiness may have changed — and reports circuit transitions.
   */
  private void judge(Runnable outcome) {
    List<Scheduler.HealthChange> changes;
    lock.lock();
    try {
      outcome.run();
      changes = scheduler.drainHealthChanges();
    } finally {
      lock.unlock();
    }
    signal();
    changes.forEach(healthListener);
  }

  /**
   * Asks the scheduler under the lock; returns at once when admitted, throws when rejected, and
   * otherwise registers a waiter and parks until the dispatcher decides or {@code cancel} fires.
   */
  private Reservation startOrWait(Supplier<Admission> decision, CancelSignal cancel)
      throws InterruptedException {
    Admission admission;
    Waiter waiter = null;
    List<Scheduler.HealthChange> changes;
    lock.lock();
    try {
      admission = decision.get();
      if (admission instanceof Queued q) {
        waiter = new Waiter(Thread.currentThread(), q.ticket());
        waiters.put(q.ticket(), waiter);
      }
      changes = scheduler.drainHealthChanges(); // a retry judged the failed attempt
    } finally {
      lock.unlock();
    }
    changes.forEach(healthListener);
    return switch (admission) {
      case Admitted a -> a.reservation();
      case Rejected r -> throw new AdmissionRejectedException(r);
      case Queued q -> {
        signal();
        queuedListener.run();
        Waiter w = java.util.Objects.requireNonNull(waiter);
        CancelSignal.Registration withdrawal = cancel.onCancel(() -> withdraw(w));
        try {
          yield await(w);
        } finally {
          withdrawal.close();
        }
      }
    };
  }

  private Reservation await(Waiter waiter) throws InterruptedException {
    while (!waiter.done()) {
      LockSupport.park(this);
      if (Thread.interrupted()) {
        interrupted(waiter);
      }
    }
    Rejected rejection = waiter.rejection;
    if (rejection != null) {
      throw new AdmissionRejectedException(rejection);
    }
    return java.util.Objects.requireNonNull(waiter.reservation);
  }

  /**
   * The request was cancelled (its client left): takes it out of the queue and wakes its thread
   * with a {@code CANCELLED} rejection — unless the dispatcher already decided, in which case its
   * thread carries on with that decision. O(1) in the queue; runs on the cancelling thread.
   */
  private void withdraw(Waiter waiter) {
    lock.lock();
    try {
      if (waiters.remove(waiter.ticket) == null) {
        return; // already admitted or rejected
      }
      scheduler.cancel(waiter.ticket);
      waiter.rejection = CANCELLED;
    } finally {
      lock.unlock();
    }
    LockSupport.unpark(waiter.thread);
  }

  /** The waiting thread was interrupted: withdraw it, or undo the admission that raced with it. */
  private void interrupted(Waiter waiter) throws InterruptedException {
    lock.lock();
    try {
      if (waiters.remove(waiter.ticket) != null) {
        scheduler.cancel(waiter.ticket);
      }
      Reservation raced = waiter.reservation;
      if (raced != null) {
        scheduler.settle(
            raced, Settlement.UNCOUNTED, -1, -1, RateLimitObservation.NONE, ticker.nanos());
      }
    } finally {
      lock.unlock();
    }
    throw new InterruptedException("gave up waiting for capacity");
  }

  /** Ends an attempt; see {@link Scheduler#settle}. Wakes the dispatcher if anything waits. */
  public void settle(
      Reservation reservation,
      Settlement settlement,
      long promptTokens,
      long completionTokens,
      RateLimitObservation observation) {
    boolean waiting;
    List<Scheduler.HealthChange> changes;
    lock.lock();
    try {
      scheduler.settle(
          reservation, settlement, promptTokens, completionTokens, observation, ticker.nanos());
      waiting = scheduler.queued() > 0;
      changes = scheduler.drainHealthChanges();
    } finally {
      lock.unlock();
    }
    if (waiting) {
      signal();
    }
    changes.forEach(healthListener);
  }

  /** Installs a new topology (hot reload); see {@link Scheduler#configure}. */
  public void configure(Topology topology) {
    modify(s -> s.configure(topology, ticker.nanos()));
    signal();
  }

  /**
   * Runs {@code reader} on the scheduler under the lock — for admin and metrics views, and for
   * operator actions (disable, enable). Keep it short: it holds up every request.
   */
  public <T> T inspect(Function<Scheduler, T> reader) {
    lock.lock();
    try {
      return reader.apply(scheduler);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Runs an operator action on the scheduler under the lock (disable, enable); like {@link
   * #inspect}, but for changes that answer nothing. Wakes no waiter.
   */
  public void modify(Consumer<Scheduler> action) {
    lock.lock();
    try {
      action.accept(scheduler);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Runs a change on the scheduler under the lock, then wakes the dispatcher: for changes that may
   * let waiting requests start (cluster mode's leases).
   */
  public void update(Consumer<Scheduler> action) {
    modify(action);
    signal();
  }

  /**
   * Calls {@code listener} (outside the lock, on the request's thread) each time a request starts
   * to wait: cluster mode asks for a lease at once rather than at its next turn. Keep it cheap.
   */
  public void onQueued(Runnable listener) {
    queuedListener = listener;
  }

  public Ticker ticker() {
    return ticker;
  }

  /** Dispatches once, now: starts what can start and wakes its threads. For tests and shutdown. */
  public void dispatchNow() {
    List<Runnable> wakes;
    lock.lock();
    try {
      wakes = dispatchLocked();
    } finally {
      lock.unlock();
    }
    wakes.forEach(Runnable::run);
  }

  private List<Runnable> dispatchLocked() {
    Scheduler.Dispatch dispatch = scheduler.dispatch(ticker.nanos());
    if (dispatch.isEmpty()) {
      return List.of();
    }
    List<Runnable> wakes = new java.util.ArrayList<>();
    for (Reservation r : dispatch.admitted()) {
      Waiter w = waiters.remove(r.ticket());
      if (w != null) {
        w.reservation = r;
        wakes.add(() -> LockSupport.unpark(w.thread));
      }
    }
    for (Scheduler.Rejection r : dispatch.rejected()) {
      Waiter w = waiters.remove(r.ticket());
      if (w != null) {
        w.rejection = r.rejected();
        wakes.add(() -> LockSupport.unpark(w.thread));
      }
    }
    return wakes;
  }

  private void dispatchLoop() {
    while (!closed) {
      List<Runnable> wakes;
      long sleep;
      lock.lock();
      try {
        wakes = dispatchLocked();
        long now = ticker.nanos();
        long next = scheduler.nextWakeNanos(now);
        sleep = next == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, next - now);
      } finally {
        lock.unlock();
      }
      wakes.forEach(Runnable::run);
      if (sleep == Long.MAX_VALUE) {
        LockSupport.park(this);
      } else if (sleep > 0) {
        LockSupport.parkNanos(this, sleep);
      }
    }
  }

  private void signal() {
    Thread d = dispatcher;
    if (d != null) {
      LockSupport.unpark(d);
    }
  }

  /** How many requests wait for capacity. */
  public int queued() {
    return inspect(Scheduler::queued);
  }

  /** How many reservations are held and not yet settled (0 when nothing is in flight). */
  public int outstanding() {
    return inspect(Scheduler::outstanding);
  }

  /** Rejects everything still waiting and stops the dispatcher. */
  @Override
  public void close() {
    closed = true;
    List<Runnable> wakes = new java.util.ArrayList<>();
    lock.lock();
    try {
      for (Scheduler.Rejection r : scheduler.rejectAll("Penstock is shutting down.")) {
        Waiter w = waiters.remove(r.ticket());
        if (w != null) {
          w.rejection = r.rejected();
          wakes.add(() -> LockSupport.unpark(w.thread));
        }
      }
    } finally {
      lock.unlock();
    }
    wakes.forEach(Runnable::run);
    Thread d = dispatcher;
    if (d != null) {
      LockSupport.unpark(d);
      try {
        d.join(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
