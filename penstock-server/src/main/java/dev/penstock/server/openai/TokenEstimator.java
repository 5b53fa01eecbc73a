package dev.penstock.server.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Estimates a request's prompt tokens the way OpenAI counts them against TPM: the model's tiktoken
 * encoding (o200k_base for current OpenAI models and unknown names, cl100k_base where jtokkit knows
 * the model uses it), plus the chat format's overhead of 3 tokens per message, 1 per name and 3 to
 * prime the reply. Images count a fixed 85 tokens (765 at {@code detail: high}); tool and
 * response-format definitions count as their JSON text. Thread-safe.
 */
public final class TokenEstimator {
  private static final int PER_MESSAGE = 3;
  private static final int PER_NAME = 1;
  private static final int REPLY_PRIMING = 3;
  private static final int IMAGE_LOW = 85;
  private static final int IMAGE_HIGH = 765;

  private final EncodingRegistry registry = Encodings.newLazyEncodingRegistry();
  private final Encoding fallback = registry.getEncoding(EncodingType.O200K_BASE);
  private final Map<String, Encoding> byModel = new ConcurrentHashMap<>();

  private Encoding encoding(String model) {
    Encoding cached = byModel.get(model);
    if (cached != null) {
      return cached;
    }
    Encoding found = registry.getEncodingForModel(model).orElse(fallback);
    if (byModel.size() < 10_000) { // model names come from clients: bound the cache
      byModel.put(model, found);
    }
    return found;
  }

  public int text(String model, String text) {
    return text.isEmpty() ? 0 : encoding(model).countTokens(text);
  }

  /** Chat: {@code messages} plus tool definitions. */
  public int chat(String model, JsonNode body) {
    Encoding encoding = encoding(model);
    int total = REPLY_PRIMING;
    for (JsonNode message : body.path("messages")) {
      total += PER_MESSAGE;
      total += count(encoding, message.path("role").asText(""));
      total += content(encoding, message.path("content"));
      if (message.hasNonNull("name")) {
        total += PER_NAME + count(encoding, message.get("name").asText(""));
      }
      if (message.has("tool_calls")) {
        total += count(encoding, message.get("tool_calls").toString());
      }
    }
    return total + definitions(encoding, body, "tools", "functions", "response_format");
  }

  /** Responses API: {@code instructions} and {@code input} (a string or a list of items). */
  public int responses(String model, JsonNode body) {
    Encoding encoding = encoding(model);
    int total = count(encoding, body.path("instructions").asText(""));
    JsonNode input = body.path("input");
    if (input.isTextual()) {
      total += count(encoding, input.asText());
    } else {
      for (JsonNode item : input) {
        total += PER_MESSAGE + content(encoding, item.path("content"));
        if (item.has("output")) {
          total += count(encoding, item.get("output").asText(""));
        }
      }
    }
    return total + definitions(encoding, body, "tools", "text");
  }

  /**
   * Legacy completions' {@code prompt} and embeddings' {@code input}: a string, a list of strings,
   * a list of token ids, or a list of such lists.
   */
  public int inputs(String model, JsonNode input) {
    Encoding encoding = encoding(model);
    if (input.isTextual()) {
      return count(encoding, input.asText());
    }
    if (input.isArray() && !input.isEmpty() && input.get(0).isNumber()) {
      return input.size();
    }
    int total = 0;
    for (JsonNode one : input) {
      total += one.isArray() ? one.size() : count(encoding, one.asText(""));
    }
    return total;
  }

  private static int content(Encoding encoding, JsonNode content) {
    if (content.isTextual()) {
      return count(encoding, content.asText());
    }
    int total = 0;
    for (JsonNode part : content) {
      if (part.has("text")) {
        total += count(encoding, part.get("text").asText(""));
      } else if (part.has("image_url") || "input_image".equals(part.path("type").asText())) {
        total +=
            "high"
                    .equals(
                        part.path("image_url").path("detail").asText(part.path("detail").asText()))
                ? IMAGE_HIGH
                : IMAGE_LOW;
      }
    }
    return total;
  }

  private static int definitions(Encoding encoding, JsonNode body, String... fields) {
    int total = 0;
    for (String field : fields) {
      if (body.hasNonNull(field)) {
        total += count(encoding, body.get(field).toString());
      }
    }
    return total;
  }

  private static int count(Encoding encoding, String text) {
    return text.isEmpty() ? 0 : encoding.countTokens(text);
  }
}
