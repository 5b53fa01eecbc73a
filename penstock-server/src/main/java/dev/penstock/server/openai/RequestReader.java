package dev.penstock.server.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Reads a client request body: checks what the gateway relies on, in OpenAI's words, and estimates
 * its token charge. Anything else in the body is the upstream's business and is forwarded as it is.
 * Thread-safe.
 */
public final class RequestReader {
  /**
   * Parsers' and generators' scratch buffers kept for reuse, at most this many. Jackson 2 keeps
   * them per thread by default, and each request runs on a virtual thread of its own: every stream
   * in flight held its own 4 KB char and 8 KB byte buffers, and every request allocated new ones. A
   * parse takes microseconds, so a few dozen cover every carrier thread's parses in flight.
   */
  private static final int RECYCLED_BUFFERS = 64;

  /** Shared, configured once: bodies are parsed strictly (no duplicate keys, valid UTF-8). */
  public static final ObjectMapper JSON =
      JsonMapper.builder(
              com.fasterxml.jackson.core.JsonFactory.builder()
                  .recyclerPool(
                      com.fasterxml.jackson.core.util.JsonRecyclerPools.newBoundedPool(
                          RECYCLED_BUFFERS))
                  .build())
          .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  static {
    JSON.getFactory()
        .setStreamReadConstraints(
            StreamReadConstraints.builder().maxNestingDepth(200).maxStringLength(64 << 20).build());
  }

  private final TokenEstimator tokens;
  private final int defaultOutputTokens;

  public RequestReader(TokenEstimator tokens, int defaultOutputTokens) {
    this.tokens = tokens;
    this.defaultOutputTokens = defaultOutputTokens;
  }

  public OpenAiRequest read(Endpoint endpoint, byte[] body) {
    return read(endpoint, body, model -> {});
  }

  /**
   * Reads a request; {@code modelCheck} sees the model name before any token is counted (counting
   * costs CPU that a request for a model nobody serves should not get) and throws to refuse it.
   */
  public OpenAiRequest read(
      Endpoint endpoint, byte[] body, java.util.function.Consumer<String> modelCheck) {
    JsonNode root = parse(body);
    if (!root.isObject()) {
      throw ApiError.invalid(
          "Invalid type for request body: expected an object, but got " + kind(root) + " instead.",
          null,
          "invalid_type");
    }
    JsonNode modelNode = root.path("model");
    if (modelNode.isMissingNode() || modelNode.isNull()) {
      throw ApiError.invalid("you must provide a model parameter", "model", null);
    }
    if (!modelNode.isTextual() || modelNode.asText().isBlank()) {
      throw ApiError.invalid(
          "Invalid type for 'model': expected a non-empty string, but got "
              + kind(modelNode)
              + " instead.",
          "model",
          "invalid_type");
    }
    String model = modelNode.asText();
    modelCheck.accept(model);
    boolean stream = bool(root, "stream");
    long prompt;
    long output = 0;
    switch (endpoint) {
      case CHAT -> {
        array(root, "messages", true);
        prompt = tokens.chat(model, root);
        output = cap(root, "max_completion_tokens", "max_tokens") * positive(root, "n", 1);
      }
      case COMPLETIONS -> {
        require(root, "prompt");
        prompt = tokens.inputs(model, root.get("prompt"));
        output = cap(root, "max_tokens") * positive(root, "n", 1) * positive(root, "best_of", 1);
      }
      case RESPONSES -> {
        require(root, "input");
        prompt = tokens.responses(model, root);
        output = cap(root, "max_output_tokens");
      }
      case EMBEDDINGS -> {
        JsonNode input = require(root, "input");
        if (input.isArray() && input.isEmpty()) {
          throw ApiError.invalid(
              "Invalid 'input': empty array. Expected an array with minimum length 1, but got an"
                  + " empty array instead.",
              "input",
              "empty_array");
        }
        if (!input.isTextual() && !input.isArray()) {
          throw ApiError.invalid(
              "Invalid type for 'input': expected a string or an array, but got "
                  + kind(input)
                  + " instead.",
              "input",
              "invalid_type");
        }
        prompt = tokens.inputs(model, input);
      }
      default -> throw new IllegalStateException(endpoint.toString());
    }
    boolean clientWantsUsage = !stream || !endpoint.streamsUsageOnlyWhenAsked() || asksUsage(root);
    return new OpenAiRequest(
        endpoint,
        model,
        stream,
        clientWantsUsage,
        prompt,
        output,
        body,
        OpenAiRequest.saysDeterministic(root));
  }

  /**
   * Whether a stream's request asks for its usage chunk ({@code stream_options.include_usage:
   * true}). The types are checked here, in OpenAI's words, because the gateway edits this field
   * ({@link UpstreamBody}) and relies on what it says.
   */
  private static boolean asksUsage(JsonNode root) {
    JsonNode options = root.get("stream_options");
    if (options == null || options.isNull()) {
      return false;
    }
    if (!options.isObject()) {
      throw ApiError.invalid(
          "Invalid type for 'stream_options': expected an object, but got "
              + kind(options)
              + " instead.",
          "stream_options",
          "invalid_type");
    }
    JsonNode include = options.get("include_usage");
    if (include == null || include.isNull()) {
      return false;
    }
    if (!include.isBoolean()) {
      throw ApiError.invalid(
          "Invalid type for 'stream_options.include_usage': expected a boolean, but got "
              + kind(include)
              + " instead.",
          "stream_options.include_usage",
          "invalid_type");
    }
    return include.asBoolean();
  }

  /**
   * The body with its top-level {@code model} value replaced, every other byte unchanged ({@link
   * UpstreamBody}).
   */
  public static byte[] withModel(byte[] body, String model) {
    return UpstreamBody.of(body, model, false);
  }

  private static JsonNode parse(byte[] body) {
    if (body.length == 0) {
      throw ApiError.invalid(
          "We could not parse the JSON body of your request: the body is empty. The OpenAI API"
              + " expects a JSON payload.",
          null,
          null);
    }
    // Nothing may follow the value: trailing garbage, a second object or NULs were once forwarded.
    // (Checked here, not with FAIL_ON_TRAILING_TOKENS on the shared mapper: that feature also
    // fails every readValueAsTree() of a value inside a larger document.)
    try (JsonParser parser = JSON.getFactory().createParser(body)) {
      JsonNode node = JSON.readTree(parser);
      if (node == null || node.isMissingNode()) {
        throw new IOException("no content");
      }
      if (parser.nextToken() != null) {
        throw new IOException("unexpected content after the JSON value");
      }
      return node;
    } catch (IOException e) {
      throw ApiError.invalid(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't"
              + " using your HTTP library correctly. The OpenAI API expects a JSON payload, but what"
              + " was sent was not valid JSON.) "
              + sanitize(e.getMessage()),
          null,
          null);
    }
  }

  /**
   * Jackson's message names the problem and its position; keep the first line, quoted bytes out.
   */
  private static String sanitize(@Nullable String message) {
    if (message == null) {
      return "";
    }
    String first = message.lines().findFirst().orElse("");
    String ascii = new String(first.getBytes(StandardCharsets.US_ASCII), StandardCharsets.US_ASCII);
    return ascii.length() > 200 ? ascii.substring(0, 200) : ascii;
  }

  private long cap(JsonNode root, String... fields) {
    for (String field : fields) {
      if (root.hasNonNull(field)) {
        return positive(root, field, defaultOutputTokens);
      }
    }
    return defaultOutputTokens;
  }

  private static long positive(JsonNode root, String field, long fallback) {
    JsonNode value = root.get(field);
    if (value == null || value.isNull()) {
      return fallback;
    }
    if (!value.isIntegralNumber() || !value.canConvertToLong()) {
      throw ApiError.invalid(
          "Invalid type for '"
              + field
              + "': expected an integer, but got "
              + kind(value)
              + " instead.",
          field,
          "invalid_type");
    }
    if (value.asLong() < 1 || value.asLong() > 100_000_000) {
      throw ApiError.invalid(
          "Invalid '"
              + field
              + "': integer out of range. Expected a value from 1 to 100000000,"
              + " but got "
              + value.asLong()
              + " instead.",
          field,
          value.asLong() < 1 ? "integer_below_min_value" : "integer_above_max_value");
    }
    return value.asLong();
  }

  private static boolean bool(JsonNode root, String field) {
    JsonNode value = root.get(field);
    if (value == null || value.isNull()) {
      return false;
    }
    if (!value.isBoolean()) {
      throw ApiError.invalid(
          "Invalid type for '"
              + field
              + "': expected a boolean, but got "
              + kind(value)
              + " instead.",
          field,
          "invalid_type");
    }
    return value.asBoolean();
  }

  private static JsonNode require(JsonNode root, String field) {
    JsonNode value = root.get(field);
    if (value == null || value.isNull()) {
      throw ApiError.invalid("'" + field + "' is a required property", field, null);
    }
    return value;
  }

  private static void array(JsonNode root, String field, boolean nonEmpty) {
    JsonNode value = require(root, field);
    if (!value.isArray()) {
      throw ApiError.invalid(
          "Invalid type for '"
              + field
              + "': expected an array, but got "
              + kind(value)
              + " instead.",
          field,
          "invalid_type");
    }
    if (nonEmpty && value.isEmpty()) {
      throw ApiError.invalid(
          "Invalid '"
              + field
              + "': empty array. Expected an array with minimum length 1, but got"
              + " an empty array instead.",
          field,
          "empty_array");
    }
    for (int i = 0; i < value.size(); i++) {
      if (!value.get(i).isObject()) {
        throw ApiError.invalid(
            "Invalid type for '"
                + field
                + "["
                + i
                + "]': expected an object, but got "
                + kind(value.get(i))
                + " instead.",
            field + "[" + i + "]",
            "invalid_type");
      }
    }
  }

  private static String kind(JsonNode node) {
    return switch (node.getNodeType()) {
      case STRING -> "a string";
      case NUMBER -> node.isIntegralNumber() ? "an integer" : "a decimal";
      case BOOLEAN -> "a boolean";
      case ARRAY -> "an array";
      case OBJECT -> "an object";
      case NULL -> "null";
      default -> node.getNodeType().toString().toLowerCase(Locale.ROOT);
    };
  }
}
