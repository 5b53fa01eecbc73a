package dev.penstock.embedded;

import dev.penstock.core.queue.Priority;

/**
 * What the call loop tells about each call, for metrics. Called on the caller's thread, outside any
 * lock; must be cheap and never throw. The default does nothing.
 */
interface Observer {
  Observer NONE = new Observer() {};

  /** A call waited {@code nanos} for capacity (backoffs and requeues included) and started. */
  default void waited(String model, Priority priority, long nanos) {}

  /** A call ended; {@code outcome} as the gateway labels it ({@code success}, ...). */
  default void ended(String model, String deployment, int status, String outcome) {}

  /** A call was refused for capacity ({@code reason}: the rejection's, in lower case). */
  default void rejected(String model, String reason) {}

  /** A failed attempt on {@code deployment} is retried. */
  default void retried(String deployment, String reason) {}

  /** {@code deployment} answered with its own {@code 429}. */
  default void upstreamRateLimited(String deployment) {}

  /** Tokens an answer used, as the upstream reported them. */
  default void tokens(String model, String deployment, long input, long output) {}
}
