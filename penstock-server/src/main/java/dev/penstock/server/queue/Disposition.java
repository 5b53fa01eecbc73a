package dev.penstock.server.queue;

import dev.penstock.server.pipeline.BufferedExchange;
import org.jspecify.annotations.Nullable;

/**
 * What becomes of a message once the pipeline has answered it (docs/queues.md, "Outcomes").
 *
 * <ul>
 *   <li>{@link #ANSWER}: a 2xx; the answer is published to {@code reply_to}, then the message is
 *       acknowledged.
 *   <li>{@link #REQUEUE}: no room now — a {@code 429} or {@code 503} that says when to try again
 *       (the queue's deadline, a key's RPM/TPM window, {@code no_deployment}, {@code
 *       shutting_down}), a request cut by the gateway stopping, or no answer at all. The message
 *       goes back to the queue, unacknowledged work is never lost.
 *   <li>{@link #DEAD_LETTER}: everything else — the request is wrong (a 4xx), or it failed after
 *       the pipeline's own retries (a 5xx). It would fail again: a copy with the error in its
 *       headers goes to the dead-letter exchange, the error is replied, the message is
 *       acknowledged.
 * </ul>
 */
enum Disposition {
  ANSWER,
  REQUEUE,
  DEAD_LETTER;

  /** The disposition of what the pipeline answered. */
  static Disposition of(BufferedExchange answer) {
    return of(
        answer.status(),
        answer.answerHeader("Retry-After") != null,
        "false".equalsIgnoreCase(String.valueOf(answer.answerHeader("x-should-retry"))),
        errorCode(answer));
  }

  static Disposition of(
      int status, boolean retryAfter, boolean shouldNotRetry, @Nullable String code) {
    if (status >= 200 && status < 300) {
      return ANSWER;
    }
    if (status == 0 || status == 499) {
      return REQUEUE; // no answer, or cut off by the gateway stopping: nobody decided against it
    }
    if (status == 503 && ("shutting_down".equals(code) || "no_deployment".equals(code))) {
      return REQUEUE;
    }
    // A 429 that says when to try again: the scheduler's deadline, a key's window. Without a
    // Retry-After (a key's budget, a request larger than a key's TPM, a provider's quota) waiting
    // does not help.
    if (status == 429 && retryAfter && !shouldNotRetry) {
      return REQUEUE;
    }
    return DEAD_LETTER;
  }

  /** The answer's {@code error.code}, when it is an OpenAI-shaped error. */
  static @Nullable String errorCode(BufferedExchange answer) {
    return errorField(answer, "code");
  }

  /** A field of the answer's {@code error} object, or null. */
  static @Nullable String errorField(BufferedExchange answer, String field) {
    if (answer.status() < 400 || answer.streamed()) {
      return null;
    }
    try {
      var node = dev.penstock.server.openai.RequestReader.JSON.readTree(answer.answerBody());
      var value = node.path("error").path(field);
      return value.isValueNode() && !value.isNull() ? value.asText() : null;
    } catch (java.io.IOException | RuntimeException e) {
      return null;
    }
  }
}
