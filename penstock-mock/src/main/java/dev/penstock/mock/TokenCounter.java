package dev.penstock.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts prompt tokens the way OpenAI reports them in {@code usage}: the model's tiktoken encoding
 * (o200k_base for current models, cl100k_base for older ones and embeddings), plus the chat
 * format's per-message overhead (3 tokens per message, 1 for a name, 3 to prime the reply).
 * Thread-safe.
 */
final class TokenCounter {
  private static final int TOKENS_PER_MESSAGE = 3;
  private static final int TOKENS_PER_NAME = 1;
  private static final int REPLY_PRIMING_TOKENS = 3;

  /** One registry for the process: an encoding's tables are large and immutable once loaded. */
  private static final EncodingRegistry REGISTRY = Encodings.newLazyEncodingRegistry();

  private final EncodingRegistry registry = REGISTRY;
  private final Encoding fallback = registry.getEncoding(EncodingType.O200K_BASE);
  private final Map<String, Encoding> byModel = new ConcurrentHashMap<>();

  Encoding encodingFor(String model) {
    return byModel.computeIfAbsent(model, m -> registry.getEncodingForModel(m).orElse(fallback));
  }

  int count(String model, String text) {
    return text.isEmpty() ? 0 : encodingFor(model).countTokens(text);
  }

  /** Prompt tokens of a chat request's {@code messages}. */
  int chatPrompt(String model, JsonNode messages) {
    Encoding encoding = encodingFor(model);
    int total = REPLY_PRIMING_TOKENS;
    for (JsonNode message : messages) {
      total += TOKENS_PER_MESSAGE;
      total += countText(encoding, message.path("role").asText(""));
      total += countText(encoding, textOf(message.path("content")));
      if (message.hasNonNull("name")) {
        total += TOKENS_PER_NAME + countText(encoding, message.get("name").asText(""));
      }
      if (message.has("tool_calls")) {
        total += countText(encoding, message.get("tool_calls").toString());
      }
    }
    return total;
  }

  /** Prompt tokens of a Responses API request's {@code instructions} and {@code input}. */
  int responsesPrompt(String model, JsonNode instructions, JsonNode input) {
    Encoding encoding = encodingFor(model);
    int total = countText(encoding, instructions.asText(""));
    if (input.isTextual()) {
      return total + countText(encoding, input.asText());
    }
    for (JsonNode item : input) {
      total += TOKENS_PER_MESSAGE + countText(encoding, textOf(item.path("content")));
    }
    return total;
  }

  /**
   * Tokens of an input that may be a string, an array of strings, an array of token ids or an array
   * of such arrays (embeddings and legacy completions). Returns one count per input.
   */
  int[] inputs(String model, JsonNode input) {
    Encoding encoding = encodingFor(model);
    if (input.isTextual()) {
      return new int[] {countText(encoding, input.asText())};
    }
    if (input.isArray() && input.size() > 0 && input.get(0).isNumber()) {
      return new int[] {input.size()};
    }
    int[] counts = new int[input.size()];
    for (int i = 0; i < counts.length; i++) {
      JsonNode one = input.get(i);
      counts[i] = one.isArray() ? one.size() : countText(encoding, one.asText(""));
    }
    return counts;
  }

  /** The text of a message content: a string, or the text parts of an array of parts. */
  static String textOf(JsonNode content) {
    if (content.isTextual()) {
      return content.asText();
    }
    if (!content.isArray()) {
      return "";
    }
    StringBuilder text = new StringBuilder();
    for (JsonNode part : content) {
      if (part.has("text")) {
        text.append(part.get("text").asText(""));
      }
    }
    return text.toString();
  }

  private static int countText(Encoding encoding, String text) {
    return text.isEmpty() ? 0 : encoding.countTokens(text);
  }
}
