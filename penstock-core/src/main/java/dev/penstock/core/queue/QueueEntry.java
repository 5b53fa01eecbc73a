package dev.penstock.core.queue;

/** What the queue needs to know of a waiting request to order it. */
public interface QueueEntry {
  Priority priority();

  /** The tenant (API key) the request belongs to; fairness is between tenants. */
  String tenant();
}
