package dev.penstock.mock;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A request as the simulator understands it: what to answer and what to charge.
 *
 * @param outputCap the output cap in tokens: the request's own, else the configured default
 * @param n how many choices are asked for (chat and legacy completions)
 * @param inputTokens per-input token counts of an embeddings request, else empty
 * @param inputTexts the embedding inputs, which seed their deterministic vectors
 */
@SuppressWarnings("ArrayRecordComponent") // a carrier, never compared; the counts are read in order
record MockRequest(
    Endpoint endpoint,
    String model,
    boolean stream,
    boolean includeUsage,
    int promptTokens,
    int outputCap,
    int n,
    int[] inputTokens,
    List<String> inputTexts,
    int dimensions,
    boolean base64) {

  /** Tokens charged against TPM on arrival: prompt + output cap per choice, like OpenAI. */
  long tokenCost() {
    return endpoint == Endpoint.EMBEDDINGS ? promptTokens : promptTokens + (long) outputCap * n;
  }

  /**
   * Reads and validates a request body; throws {@link ApiException} with OpenAI's wording.
   *
   * @param deployment the deployment named in an Azure URL, which answers whatever model the body
   *     names (or none), as Azure's does; null on URLs where the body names the model
   */
  static MockRequest parse(
      Endpoint endpoint,
      JsonNode body,
      @Nullable String deployment,
      MockConfig config,
      TokenCounter tokens) {
    if (!body.isObject()) {
      throw ApiException.invalid(
          "Invalid type for request body: expected an object, but got "
              + body.getNodeType().toString().toLowerCase(java.util.Locale.ROOT)
              + " instead.",
          null,
          "invalid_type");
    }
    String model = deployment != null ? deployment : model(body);
    boolean stream = body.path("stream").asBoolean(false);
    boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
    int n = positiveInt(body, "n", 1);
    return switch (endpoint) {
      case CHAT -> {
        JsonNode messages = requireArray(body, "messages");
        int cap = cap(body, config, "max_completion_tokens", "max_tokens");
        int prompt = tokens.chatPrompt(model, messages);
        yield new MockRequest(
            endpoint, model, stream, includeUsage, prompt, cap, n, new int[0], List.of(), 0, false);
      }
      case COMPLETIONS -> {
        JsonNode prompt = require(body, "prompt");
        int cap = cap(body, config, "max_tokens");
        int promptTokens = sum(tokens.inputs(model, prompt));
        yield new MockRequest(
            endpoint,
            model,
            stream,
            includeUsage,
            promptTokens,
            cap,
            n,
            new int[0],
            List.of(),
            0,
            false);
      }
      case RESPONSES -> {
        JsonNode input = require(body, "input");
        int cap = cap(body, config, "max_output_tokens");
        int prompt = tokens.responsesPrompt(model, body.path("instructions"), input);
        yield new MockRequest(
            endpoint, model, stream, false, prompt, cap, 1, new int[0], List.of(), 0, false);
      }
      case EMBEDDINGS -> embeddings(body, model, config, tokens);
    };
  }

  private static String model(JsonNode body) {
    JsonNode model = body.path("model");
    if (!model.isTextual() || model.asText().isBlank()) {
      throw ApiException.invalid("you must provide a model parameter", null, null);
    }
    return model.asText();
  }

  private static MockRequest embeddings(
      JsonNode body, String model, MockConfig config, TokenCounter tokens) {
    JsonNode input = require(body, "input");
    if (input.isArray() && input.isEmpty()) {
      throw ApiException.invalid(
          "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty"
              + " array instead.",
          "input",
          "empty_array");
    }
    int[] counts = tokens.inputs(model, input);
    List<String> texts = new ArrayList<>();
    if (input.isTextual() || (input.isArray() && input.get(0).isNumber())) {
      texts.add(input.isTextual() ? input.asText() : input.toString());
    } else {
      input.forEach(one -> texts.add(one.isTextual() ? one.asText() : one.toString()));
    }
    int dimensions = positiveInt(body, "dimensions", config.embeddingDimensions());
    boolean base64 = "base64".equals(body.path("encoding_format").asText("float"));
    return new MockRequest(
        Endpoint.EMBEDDINGS,
        model,
        false,
        false,
        sum(counts),
        0,
        1,
        counts,
        texts,
        dimensions,
        base64);
  }

  private static JsonNode require(JsonNode body, String field) {
    JsonNode value = body.get(field);
    if (value == null || value.isNull()) {
      throw ApiException.invalid("'" + field + "' is a required property", field, null);
    }
    return value;
  }

  private static JsonNode requireArray(JsonNode body, String field) {
    JsonNode value = require(body, field);
    if (!value.isArray()) {
      throw ApiException.invalid(
          "Invalid type for '"
              + field
              + "': expected an array, but got "
              + value.getNodeType().toString().toLowerCase(java.util.Locale.ROOT)
              + " instead.",
          field,
          "invalid_type");
    }
    if (value.isEmpty()) {
      throw ApiException.invalid(
          "Invalid '"
              + field
              + "': empty array. Expected an array with minimum length 1, but got"
              + " an empty array instead.",
          field,
          "empty_array");
    }
    return value;
  }

  private static int cap(JsonNode body, MockConfig config, String... fields) {
    for (String field : fields) {
      if (body.hasNonNull(field)) {
        return positiveInt(body, field, config.defaultMaxTokens());
      }
    }
    return config.defaultMaxTokens();
  }

  private static int positiveInt(JsonNode body, String field, int fallback) {
    JsonNode value = body.get(field);
    if (value == null || value.isNull()) {
      return fallback;
    }
    if (!value.canConvertToInt() || !value.isIntegralNumber()) {
      throw ApiException.invalid(
          "Invalid type for '"
              + field
              + "': expected an integer, but got "
              + value.getNodeType().toString().toLowerCase(java.util.Locale.ROOT)
              + " instead.",
          field,
          "invalid_type");
    }
    if (value.asInt() < 1) {
      throw ApiException.invalid(
          "Invalid '"
              + field
              + "': integer below minimum value. Expected a value >= 1, but got "
              + value.asInt()
              + " instead.",
          field,
          "integer_below_min_value");
    }
    return value.asInt();
  }

  private static int sum(int[] values) {
    int total = 0;
    for (int v : values) {
      total += v;
    }
    return total;
  }
}
