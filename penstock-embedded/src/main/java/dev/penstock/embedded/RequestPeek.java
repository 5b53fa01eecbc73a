package dev.penstock.embedded;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What Penstock must know of a request body before it can reserve capacity: its model, whether it
 * streams, its output cap and an estimate of its prompt tokens (SPEC 3: prompt + the requested
 * output cap, else the configured default). Only the fields it reads are looked at; the body is
 * sent as it came unless the deployment's {@code upstream_model} differs from the public name.
 *
 * @param json the parsed body (to rewrite its model), or null for a body that is not JSON
 */
record RequestPeek(
    String model, boolean stream, long promptTokens, long outputTokens, @Nullable ObjectNode json) {

  static final ObjectMapper JSON = new ObjectMapper();

  /** Image parts count a flat charge, as OpenAI's low-detail images do. */
  private static final int IMAGE_TOKENS = 85;

  private static final int PER_MESSAGE = 3;

  /** Fields whose text is the prompt (chat, Responses, completions, embeddings, tools). */
  private static final Set<String> PROMPT_FIELDS =
      Set.of(
          "messages",
          "input",
          "prompt",
          "instructions",
          "tools",
          "functions",
          "response_format",
          "text");

  /** A request without a JSON body (a GET): no model, charged one request and no tokens. */
  static final RequestPeek NONE = new RequestPeek("", false, 0, 0, null);

  /**
   * Reads a body. Throws {@link IllegalArgumentException} with a client-facing message when it is
   * not a JSON object with a string {@code model}.
   */
  static RequestPeek read(byte[] body, String path, int defaultOutput, TokenCounter counter) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("The request body is not valid JSON.");
    }
    if (!(root instanceof ObjectNode object)) {
      throw new IllegalArgumentException("The request body must be a JSON object.");
    }
    JsonNode model = object.path("model");
    if (!model.isTextual() || model.asText().isBlank()) {
      throw new IllegalArgumentException("The request names no model ('model' is required).");
    }
    String name = model.asText();
    long prompt = 0;
    for (String field : PROMPT_FIELDS) {
      JsonNode value = object.get(field);
      if (value != null) {
        prompt += tokens(name, value, counter, field.equals("messages"));
      }
    }
    if (object.has("messages")) {
      prompt += PER_MESSAGE; // priming of the reply
    }
    return new RequestPeek(
        name,
        object.path("stream").asBoolean(false),
        prompt,
        path.startsWith("embeddings") ? 0 : outputCap(object, defaultOutput),
        object);
  }

  private static long outputCap(ObjectNode body, int defaultOutput) {
    for (String field : new String[] {"max_completion_tokens", "max_output_tokens", "max_tokens"}) {
      JsonNode cap = body.get(field);
      if (cap != null && cap.canConvertToLong() && cap.asLong() > 0) {
        return cap.asLong();
      }
    }
    return defaultOutput;
  }

  /** The tokens of every text under {@code node}; images at a flat rate, never their bytes. */
  private static long tokens(String model, JsonNode node, TokenCounter counter, boolean messages) {
    if (node.isTextual()) {
      return counter.count(model, node.asText());
    }
    if (node.isNumber()) {
      return 1; // a token id of a pre-tokenized prompt
    }
    long total = 0;
    if (node.isObject()) {
      if (node.has("image_url") || "input_image".equals(node.path("type").asText())) {
        return IMAGE_TOKENS;
      }
      for (var field : node.properties()) {
        if (!field.getKey().equals("type")) {
          total += tokens(model, field.getValue(), counter, false);
        }
      }
    } else if (node.isArray()) {
      for (JsonNode item : node) {
        total += (messages ? PER_MESSAGE : 0) + tokens(model, item, counter, false);
      }
    }
    return total;
  }

  /** The body to send to a deployment that knows the model as {@code upstreamModel}. */
  byte[] bodyFor(String upstreamModel, byte[] original) {
    ObjectNode body = json;
    if (body == null || upstreamModel.equals(model)) {
      return original;
    }
    ObjectNode copy = body.deepCopy();
    copy.put("model", upstreamModel);
    try {
      return JSON.writeValueAsBytes(copy);
    } catch (JsonProcessingException e) {
      return original; // cannot happen for a tree that was just read
    }
  }
}
