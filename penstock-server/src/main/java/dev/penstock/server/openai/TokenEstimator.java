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

  /**
   * One registry for the process: an encoding's tables take tens of MB and a second or so to load,
   * and are immutable once loaded (jtokkit's encodings are thread-safe). Several gateways in one
   * JVM (tests, the demo) share them.
   */
  private static final EncodingRegistry REGISTRY = Encodings.newLazyEncodingRegistry();

  private final EncodingRegistry registry = REGISTRY;
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
    return new Counter(encoding(model)).count(text);
  }

  /** Chat: {@code messages} plus tool definitions. */
  public int chat(String model, JsonNode body) {
    Counter counter = new Counter(encoding(model));
    int total = REPLY_PRIMING;
    for (JsonNode message : body.path("messages")) {
      total += PER_MESSAGE;
      total += counter.count(message.path("role").asText(""));
      total += content(counter, message.path("content"));
      if (message.hasNonNull("name")) {
        total += PER_NAME + counter.count(message.get("name").asText(""));
      }
      if (message.has("tool_calls")) {
        total += counter.count(message.get("tool_calls").toString());
      }
    }
    return total + definitions(counter, body, "tools", "functions", "response_format");
  }

  /** Responses API: {@code instructions} and {@code input} (a string or a list of items). */
  public int responses(String model, JsonNode body) {
    Counter counter = new Counter(encoding(model));
    int total = counter.count(body.path("instructions").asText(""));
    JsonNode input = body.path("input");
    if (input.isTextual()) {
      total += counter.count(input.asText());
    } else {
      for (JsonNode item : input) {
        total += PER_MESSAGE + content(counter, item.path("content"));
        if (item.has("output")) {
          total += counter.count(item.get("output").asText(""));
        }
      }
    }
    return total + definitions(counter, body, "tools", "text");
  }

  /**
   * Legacy completions' {@code prompt} and embeddings' {@code input}: a string, a list of strings,
   * a list of token ids, or a list of such lists.
   */
  public int inputs(String model, JsonNode input) {
    Counter counter = new Counter(encoding(model));
    if (input.isTextual()) {
      return counter.count(input.asText());
    }
    if (input.isArray() && !input.isEmpty() && input.get(0).isNumber()) {
      return input.size();
    }
    int total = 0;
    for (JsonNode one : input) {
      total += one.isArray() ? one.size() : counter.count(one.asText(""));
    }
    return total;
  }

  private static int content(Counter counter, JsonNode content) {
    if (content.isTextual()) {
      return counter.count(content.asText());
    }
    int total = 0;
    for (JsonNode part : content) {
      if (part.has("text")) {
        total += counter.count(part.get("text").asText(""));
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

  private static int definitions(Counter counter, JsonNode body, String... fields) {
    int total = 0;
    for (String field : fields) {
      if (body.hasNonNull(field)) {
        total += counter.count(body.get(field).toString());
      }
    }
    return total;
  }

  /**
   * Counts one request's texts, with the cost of counting bounded: BPE is superlinear in the length
   * of a "word" (a 16 MiB run without whitespace once cost 12.5 s of CPU), so a run longer than
   * {@link #LONG_RUN} characters is counted in pieces of {@link #PIECE} — an upper bound, as pieces
   * cannot merge across their cuts, and exact for ordinary text; and past {@link #BUDGET}
   * characters a request's text counts one token per character, an upper bound for any text that
   * only a prompt beyond every model's context reaches. Not thread-safe: one per request.
   */
  private static final class Counter {
    static final int LONG_RUN = 1024;
    static final int PIECE = 256;
    static final int BUDGET = 1 << 20;

    private final Encoding encoding;
    private int budget = BUDGET;

    Counter(Encoding encoding) {
      this.encoding = encoding;
    }

    int count(String text) {
      if (text.isEmpty()) {
        return 0;
      }
      if (budget <= 0) {
        return text.length();
      }
      if (text.length() > budget) {
        int exact = budget;
        return count(text.substring(0, cut(text, exact))) + text.length() - cut(text, exact);
      }
      budget -= text.length();
      int total = 0;
      int from = 0; // start of the text not counted yet
      int run = -1; // start of the current run without whitespace
      for (int i = 0; i <= text.length(); i++) {
        boolean space = i == text.length() || Character.isWhitespace(text.charAt(i));
        if (!space && run < 0) {
          run = i;
        } else if (space && run >= 0) {
          if (i - run > LONG_RUN) {
            total += exact(text.substring(from, run));
            for (int p = run; p < i; ) {
              int end = cut(text, Math.min(i, p + PIECE));
              total += encoding.countTokens(text.substring(p, end));
              p = end;
            }
            from = i;
          }
          run = -1;
        }
      }
      return total + exact(text.substring(from));
    }

    private int exact(String text) {
      return text.isEmpty() ? 0 : encoding.countTokens(text);
    }

    /** {@code at}, or one more, so as not to split a surrogate pair. */
    private static int cut(String text, int at) {
      return at < text.length() && at > 0 && Character.isHighSurrogate(text.charAt(at - 1))
          ? at + 1
          : at;
    }
  }
}
