package dev.penstock.cli.bench;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Builds the JSON body of request {@code n}: a prompt of about {@code promptTokens} tokens that
 * starts with the request number, so that no cache along the way can answer it from an earlier
 * request.
 *
 * <p>The body is a fixed prefix, the number, and a fixed suffix, all encoded once: building a body
 * is two array copies, which matters at thousands of requests per second. Thread-safe.
 */
final class RequestBodies {
  /**
   * Common English words that are each one o200k (and cl100k) token with their leading space, so
   * the prompt size is predictable without tokenizing at run time; {@code RequestBodiesTest} checks
   * the total with jtokkit.
   */
  private static final String[] WORDS = {
    "river", "stone", "light", "house", "green", "market", "north", "paper",
    "music", "table", "garden", "window", "morning", "story", "number", "city"
  };

  /**
   * Tokens taken by the {@code Request 123:} label before the filler words: "Request", " ", ":" and
   * one per three digits. Five is exact for request numbers from 1,000 to 999,999 and one off
   * either side of that up to a billion requests.
   */
  static final int LABEL_TOKENS = 5;

  private final byte[] prefix;
  private final byte[] suffix;

  RequestBodies(BenchOptions options) {
    String head = "{\"model\":" + quote(options.model()) + ",";
    String filler = filler(options.promptTokens() - LABEL_TOKENS);
    String open = head + field(options.endpoint()) + "\"Request ";
    String close = ":" + filler + "\"" + tail(options) + "}";
    this.prefix = open.getBytes(StandardCharsets.UTF_8);
    this.suffix = close.getBytes(StandardCharsets.UTF_8);
  }

  /** The body of request {@code number}. */
  byte[] body(long number) {
    byte[] digits = Long.toString(number).getBytes(StandardCharsets.US_ASCII);
    byte[] body = new byte[prefix.length + digits.length + suffix.length];
    System.arraycopy(prefix, 0, body, 0, prefix.length);
    System.arraycopy(digits, 0, body, prefix.length, digits.length);
    System.arraycopy(suffix, 0, body, prefix.length + digits.length, suffix.length);
    return body;
  }

  /** The prompt text of request {@code number}, as it appears inside the body. */
  static String prompt(long number, int promptTokens) {
    return "Request " + number + ":" + filler(promptTokens - LABEL_TOKENS);
  }

  private static String filler(int words) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < words; i++) {
      text.append(' ').append(WORDS[i % WORDS.length]);
    }
    return text.toString();
  }

  /** The field that carries the prompt, up to its opening quote. */
  private static String field(Endpoint endpoint) {
    return switch (endpoint) {
      case CHAT -> "\"messages\":[{\"role\":\"user\",\"content\":";
      case COMPLETIONS -> "\"prompt\":";
      case EMBEDDINGS, RESPONSES -> "\"input\":";
    };
  }

  /** Everything after the prompt: the output cap and the stream flags. */
  private static String tail(BenchOptions options) {
    // include_usage: without it an OpenAI stream carries no token counts at all.
    String streamFlags =
        options.stream() ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "";
    int cap = options.maxTokens();
    return switch (options.endpoint()) {
      case CHAT -> "}],\"max_completion_tokens\":" + cap + streamFlags;
      case COMPLETIONS -> ",\"max_tokens\":" + cap + streamFlags;
      // The Responses API always reports usage in its final event and has no stream_options.
      case RESPONSES ->
          ",\"max_output_tokens\":" + cap + (options.stream() ? ",\"stream\":true" : "");
      case EMBEDDINGS -> "";
    };
  }

  private static String quote(String text) {
    return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(text)) + "\"";
  }
}
