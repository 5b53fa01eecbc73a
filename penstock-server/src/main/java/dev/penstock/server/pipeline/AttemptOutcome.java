package dev.penstock.server.pipeline;

import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.Usage;
import dev.penstock.server.telemetry.RetryReason;

/**
 * How one attempt on one deployment ended — the single value the attempt hands back, so that
 * settling its reservation and deciding what comes next happen in one place ({@link
 * UpstreamStage}), never on the side in a catch block.
 */
sealed interface AttemptOutcome {
  /**
   * The client got the upstream's answer, whole or streamed to its proper end (or an upstream
   * {@code 4xx} passed through).
   */
  record Answered(Settlement settlement, Usage usage, RateLimitObservation observed)
      implements AttemptOutcome {}

  /**
   * A stream broke after the client had part of it; it was ended with an SSE error event. Counts
   * against the deployment's circuit; never retried (the client has bytes already).
   */
  record Broke(Usage usage) implements AttemptOutcome {}

  /**
   * The client left (or stopped reading) during the attempt: the upstream call was closed; nobody
   * is there to answer. Tells the circuit nothing.
   */
  record ClientLeft(Settlement settlement, Usage usage) implements AttemptOutcome {}

  /**
   * The attempt failed before anything reached the client: retried while attempts, time and {@code
   * retryable} allow; else {@code failure} is the answer.
   */
  record Failed(RetryReason reason, Settlement settlement, Failure failure, boolean retryable)
      implements AttemptOutcome {}

  /** The upstream's own rate limiter refused it ({@code 429}): cool down, requeue in front. */
  record RateLimited(long coolDownUntilNanos, RateLimitObservation observed, Failure failure)
      implements AttemptOutcome {}

  /** The account behind the deployment is out of credit: disable it, requeue for another. */
  record QuotaExhausted(RateLimitObservation observed, Failure failure) implements AttemptOutcome {}

  /** The upstream refused the request itself (too large for the key): the client's error. */
  record Refused(ApiError error, RateLimitObservation observed) implements AttemptOutcome {}

  /**
   * A stopping gateway cut the attempt short after its grace period: a stream that began was ended
   * with an SSE error event ({@code streamed}); otherwise the client is to get {@code 503
   * shutting_down}. Tells the circuit nothing.
   */
  record ShutDown(boolean streamed, Settlement settlement, Usage usage) implements AttemptOutcome {}
}
