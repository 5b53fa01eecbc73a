package dev.penstock.server.telemetry;

/**
 * Told what happens to requests, by the request's own thread. Implementations must be cheap and
 * thread-safe: every request calls {@link #completed} once, from its virtual thread, and must not
 * block on I/O (the access log hands its line to an asynchronous appender).
 */
public interface RequestObserver {
  /** An attempt on {@code deployment} failed and the request goes on to another one. */
  default void retried(String deployment, RetryReason reason) {}

  /** {@code deployment} answered 429: its limit was reached upstream (goal: never). */
  default void upstreamRateLimited(String deployment) {}

  /**
   * One merged embeddings request for {@code model} went upstream on behalf of {@code requests}
   * client requests (0 when the upstream refused it and each was sent on alone). Called by the
   * thread that sent it, before its members hear of their answers.
   */
  default void embeddingBatch(String model, int requests) {}

  /** The request ended; {@code record} is complete and is not changed afterwards. */
  void completed(RequestRecord record);

  /** Tells {@code first}, then {@code second}. */
  static RequestObserver both(RequestObserver first, RequestObserver second) {
    return new RequestObserver() {
      @Override
      public void retried(String deployment, RetryReason reason) {
        first.retried(deployment, reason);
        second.retried(deployment, reason);
      }

      @Override
      public void upstreamRateLimited(String deployment) {
        first.upstreamRateLimited(deployment);
        second.upstreamRateLimited(deployment);
      }

      @Override
      public void embeddingBatch(String model, int requests) {
        first.embeddingBatch(model, requests);
        second.embeddingBatch(model, requests);
      }

      @Override
      public void completed(RequestRecord record) {
        first.completed(record);
        second.completed(record);
      }
    };
  }

  /** Observes nothing: metrics and logging off. */
  RequestObserver NONE = record -> {};
}
