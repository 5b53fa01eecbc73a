package dev.penstock.server.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.core.limit.UpstreamSignals;

/**
 * What an upstream's answer means for the request — the one place where statuses and {@code 429}
 * bodies are interpreted (SPEC 3 and 4). Pure: the same answer always gets the same verdict.
 */
final class UpstreamAnswers {
  private UpstreamAnswers() {}

  /** The verdict on an answer. */
  sealed interface Verdict {
    /** A {@code 2xx}: relay it, as a stream when it is one. */
    record Success(boolean stream) implements Verdict {}

    /** The key's rate limit upstream ({@code 429}): not a failure; cool down and requeue. */
    record RateLimited(String message) implements Verdict {}

    /** {@code 429 insufficient_quota}: the account is out of credit. */
    record QuotaExhausted() implements Verdict {}

    /** {@code 429} "Request too large": the request alone exceeds the key's limit. */
    record TooLarge(String message) implements Verdict {}

    /** {@code 500}, {@code 502}, {@code 503}, {@code 504}: try again, elsewhere if possible. */
    record Retryable() implements Verdict {}

    /** Any other {@code 4xx} or {@code 5xx}: the client gets it as the upstream sent it. */
    record PassThrough(boolean clientError) implements Verdict {}

    /**
     * Not an answer an OpenAI client can use — a {@code 1xx} or {@code 3xx} as a final status, or
     * no valid status at all: a failed attempt.
     */
    record Invalid() implements Verdict {}
  }

  /**
   * @param contentType the answer's {@code Content-Type}, or ""
   * @param errorBody the start of the body of an answer that is not a {@code 2xx} (empty for a
   *     {@code 2xx}, whose body is relayed instead)
   */
  static Verdict classify(int status, String contentType, byte[] errorBody) {
    if (status >= 200 && status < 300) {
      // A media type is case-insensitive (RFC 9110, 8.3.1).
      return new Verdict.Success(contentType.regionMatches(true, 0, "text/event-stream", 0, 17));
    }
    if (status == 429) {
      JsonNode error = Failure.error(errorBody);
      String message = error.path("message").asText("");
      String code = error.path("code").isTextual() ? error.path("code").asText() : null;
      String type = error.path("type").isTextual() ? error.path("type").asText() : null;
      return switch (UpstreamSignals.classify(code, type, message)) {
        case RATE_LIMIT -> new Verdict.RateLimited(message);
        case INSUFFICIENT_QUOTA -> new Verdict.QuotaExhausted();
        case TOO_LARGE -> new Verdict.TooLarge(message);
      };
    }
    return switch (status) {
      case 500, 502, 503, 504 -> new Verdict.Retryable();
      default -> {
        if (status >= 400 && status < 600) {
          yield new Verdict.PassThrough(status < 500);
        }
        yield new Verdict.Invalid();
      }
    };
  }
}
