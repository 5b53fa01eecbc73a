package dev.penstock.server.pipeline;

import java.nio.charset.StandardCharsets;
import java.util.function.UnaryOperator;

/**
 * Removes upstream keys from what an upstream's error carries to the client: a {@code 401} that
 * echoes {@code Incorrect API key provided: sk-...} (OpenAI does, masked), any other error body, an
 * error event in a stream. Successful answers are never touched: they are the client's data, and
 * scanning them would cost every request.
 *
 * <p>The redaction is the one the logs, metrics and dashboard use (every configured key, and
 * anything key-shaped), so that the client sees no more of a key than the operator's log does.
 * Thread-safe.
 */
final class ErrorRedaction {
  private final UnaryOperator<String> redact;

  ErrorRedaction(UnaryOperator<String> redact) {
    this.redact = redact;
  }

  /** An upstream's error body, without keys; the same array when there was nothing to remove. */
  byte[] body(byte[] body) {
    String text = new String(body, StandardCharsets.UTF_8);
    String clean = redact.apply(text);
    return clean.equals(text) ? body : clean.getBytes(StandardCharsets.UTF_8);
  }

  /** An upstream's header value, without keys. */
  String header(String value) {
    return redact.apply(value);
  }
}
