package dev.penstock.core;

import dev.penstock.core.queue.Priority;
import dev.penstock.core.queue.QueueEntry;
import java.util.HashSet;
import java.util.Set;

/**
 * One request's passage through the scheduler, from submission until it is admitted, rejected or
 * cancelled. Identity matters (queues hold tickets); all mutation happens under the scheduler's
 * lock.
 */
public final class Ticket implements QueueEntry {
  /** Where the ticket stands. */
  public enum State {
    NEW,
    QUEUED,
    ADMITTED,
    REJECTED,
    CANCELLED
  }

  private final long id;
  private final Demand demand;
  private final long submittedNanos;
  private String model;
  private State state = State.NEW;
  private long estimatedStartNanos;
  private int failures;
  private Set<String> avoid = Set.of(); // a set of its own only once an attempt failed
  private long notBeforeNanos = Long.MIN_VALUE;

  Ticket(long id, Demand demand, long submittedNanos) {
    this.id = id;
    this.demand = demand;
    this.submittedNanos = submittedNanos;
    this.model = demand.model();
  }

  public long id() {
    return id;
  }

  public Demand demand() {
    return demand;
  }

  @Override
  public Priority priority() {
    return demand.priority();
  }

  @Override
  public String tenant() {
    return demand.tenant();
  }

  /** The model whose pool serves it: the requested one, or a fallback. */
  public String model() {
    return model;
  }

  void model(String served) {
    model = served;
  }

  public long submittedNanos() {
    return submittedNanos;
  }

  public State state() {
    return state;
  }

  void state(State next) {
    state = next;
  }

  /** When the scheduler expected the ticket to start, as estimated when it was queued. */
  public long estimatedStartNanos() {
    return estimatedStartNanos;
  }

  void estimatedStartNanos(long nanos) {
    estimatedStartNanos = nanos;
  }

  /** Attempts that failed (rate-limit answers are not failures). */
  public int failures() {
    return failures;
  }

  void failed(String deployment) {
    failures++;
    if (avoid.isEmpty()) {
      avoid = new HashSet<>();
    }
    avoid.add(deployment);
  }

  /** Deployments this request failed on, to be passed over while others can serve it. */
  Set<String> avoid() {
    return avoid;
  }

  /** Every deployment may serve it again (only those it failed on were left). */
  void forgetAvoided() {
    avoid = Set.of();
  }

  /** When a retry waiting out its backoff may start. */
  long notBeforeNanos() {
    return notBeforeNanos;
  }

  void notBeforeNanos(long nanos) {
    notBeforeNanos = nanos;
  }

  @Override
  public String toString() {
    return "Ticket["
        + id
        + " "
        + demand.model()
        + " "
        + demand.priority().wireName()
        + " "
        + demand.tenant()
        + " "
        + state
        + "]";
  }
}
