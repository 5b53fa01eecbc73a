package dev.penstock.mock;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;
import org.jspecify.annotations.Nullable;

/**
 * Builds the simulator's JSON bodies in OpenAI's exact shapes: chat completions and their stream
 * chunks, legacy completions, Responses API objects and events, embeddings, models and errors.
 */
final class Wire {
  static final ObjectMapper JSON = JsonMapper.builder().build();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final String FINGERPRINT = "fp_penstock_mock";

  private Wire() {}

  static JsonNode parse(byte[] body) {
    try {
      JsonNode node = JSON.readTree(body);
      if (node == null || node.isMissingNode()) {
        throw new IOException("empty body");
      }
      return node;
    } catch (IOException e) {
      throw ApiException.invalid(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't"
              + " using your HTTP library correctly. The OpenAI API expects a JSON payload, but"
              + " what was sent was not valid JSON.)",
          null,
          null);
    }
  }

  static byte[] bytes(JsonNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Compact JSON text; Jackson quotes and escapes strings, so nothing here does it by hand. */
  static String text(JsonNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  static ObjectNode error(
      String type, String message, @Nullable String param, @Nullable String code) {
    ObjectNode error = NODES.objectNode();
    error.put("message", message);
    error.put("type", type);
    error.put("param", param);
    error.put("code", code);
    ObjectNode root = NODES.objectNode();
    root.set("error", error);
    return root;
  }

  /** Azure OpenAI's own error shape: no {@code type} and no {@code param}, a string code. */
  static ObjectNode azureError(String code, String message) {
    ObjectNode root = NODES.objectNode();
    ObjectNode error = root.putObject("error");
    error.put("code", code);
    error.put("message", message);
    return root;
  }

  // ---- chat completions ----

  static ObjectNode chatCompletion(Generation g) {
    ObjectNode root = header(g.id(), "chat.completion", g.createdEpochSeconds(), g.model());
    ArrayNode choices = root.putArray("choices");
    for (int i = 0; i < g.n(); i++) {
      ObjectNode choice = choices.addObject();
      choice.put("index", i);
      ObjectNode message = choice.putObject("message");
      message.put("role", "assistant");
      message.put("content", g.text());
      message.putNull("refusal");
      message.putArray("annotations");
      choice.putNull("logprobs");
      choice.put("finish_reason", g.finishReason());
    }
    root.set("usage", chatUsage(g));
    root.put("service_tier", "default");
    root.put("system_fingerprint", FINGERPRINT);
    return root;
  }

  /** A chunk carrying {@code content} (the first chunk also carries the role). */
  static ObjectNode chatChunk(
      Generation g,
      int choiceIndex,
      @Nullable String content,
      boolean first,
      boolean includeUsage) {
    ObjectNode root = chunkHeader(g);
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", choiceIndex);
    ObjectNode delta = choice.putObject("delta");
    if (first) {
      delta.put("role", "assistant");
      delta.put("content", "");
      delta.putNull("refusal");
    } else {
      delta.put("content", content);
    }
    choice.putNull("logprobs");
    choice.putNull("finish_reason");
    if (includeUsage) {
      root.putNull("usage");
    }
    return root;
  }

  static ObjectNode chatFinishChunk(Generation g, int choiceIndex, boolean includeUsage) {
    ObjectNode root = chunkHeader(g);
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", choiceIndex);
    choice.putObject("delta");
    choice.putNull("logprobs");
    choice.put("finish_reason", g.finishReason());
    if (includeUsage) {
      root.putNull("usage");
    }
    return root;
  }

  static ObjectNode chatUsageChunk(Generation g) {
    ObjectNode root = chunkHeader(g);
    root.putArray("choices");
    root.set("usage", chatUsage(g));
    return root;
  }

  private static ObjectNode chunkHeader(Generation g) {
    ObjectNode root = header(g.id(), "chat.completion.chunk", g.createdEpochSeconds(), g.model());
    root.put("service_tier", "default");
    root.put("system_fingerprint", FINGERPRINT);
    return root;
  }

  private static ObjectNode chatUsage(Generation g) {
    ObjectNode usage = NODES.objectNode();
    usage.put("prompt_tokens", g.promptTokens());
    usage.put("completion_tokens", g.completionTokens());
    usage.put("total_tokens", g.promptTokens() + g.completionTokens());
    ObjectNode promptDetails = usage.putObject("prompt_tokens_details");
    promptDetails.put("cached_tokens", 0);
    promptDetails.put("audio_tokens", 0);
    ObjectNode completionDetails = usage.putObject("completion_tokens_details");
    completionDetails.put("reasoning_tokens", 0);
    completionDetails.put("audio_tokens", 0);
    completionDetails.put("accepted_prediction_tokens", 0);
    completionDetails.put("rejected_prediction_tokens", 0);
    return usage;
  }

  // ---- legacy completions ----

  static ObjectNode completion(Generation g) {
    ObjectNode root = header(g.id(), "text_completion", g.createdEpochSeconds(), g.model());
    ArrayNode choices = root.putArray("choices");
    for (int i = 0; i < g.n(); i++) {
      ObjectNode choice = choices.addObject();
      choice.put("text", g.text());
      choice.put("index", i);
      choice.putNull("logprobs");
      choice.put("finish_reason", g.finishReason());
    }
    root.set("usage", plainUsage(g));
    root.put("system_fingerprint", FINGERPRINT);
    return root;
  }

  static ObjectNode completionChunk(
      Generation g,
      int choiceIndex,
      String text,
      @Nullable String finishReason,
      boolean usageNull) {
    ObjectNode root = header(g.id(), "text_completion", g.createdEpochSeconds(), g.model());
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("text", text);
    choice.put("index", choiceIndex);
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason);
    if (usageNull) {
      root.putNull("usage");
    }
    root.put("system_fingerprint", FINGERPRINT);
    return root;
  }

  static ObjectNode completionUsageChunk(Generation g) {
    ObjectNode root = header(g.id(), "text_completion", g.createdEpochSeconds(), g.model());
    root.putArray("choices");
    root.set("usage", plainUsage(g));
    root.put("system_fingerprint", FINGERPRINT);
    return root;
  }

  private static ObjectNode plainUsage(Generation g) {
    ObjectNode usage = NODES.objectNode();
    usage.put("prompt_tokens", g.promptTokens());
    usage.put("completion_tokens", g.completionTokens());
    usage.put("total_tokens", g.promptTokens() + g.completionTokens());
    return usage;
  }

  // ---- Responses API ----

  static ObjectNode response(Generation g, int maxOutputTokens, boolean done) {
    ObjectNode root = NODES.objectNode();
    root.put("id", g.id());
    root.put("object", "response");
    root.put("created_at", g.createdEpochSeconds());
    boolean capped = g.finishReason().equals("length");
    root.put("status", !done ? "in_progress" : capped ? "incomplete" : "completed");
    root.putNull("error");
    if (done && capped) {
      root.putObject("incomplete_details").put("reason", "max_output_tokens");
    } else {
      root.putNull("incomplete_details");
    }
    root.putNull("instructions");
    root.put("max_output_tokens", maxOutputTokens);
    root.put("model", g.model());
    ArrayNode output = root.putArray("output");
    if (done) {
      output.add(responseMessage(g, true));
    }
    root.put("parallel_tool_calls", true);
    root.putNull("previous_response_id");
    ObjectNode reasoning = root.putObject("reasoning");
    reasoning.putNull("effort");
    reasoning.putNull("summary");
    root.put("store", true);
    root.put("temperature", 1.0);
    root.putObject("text").putObject("format").put("type", "text");
    root.put("tool_choice", "auto");
    root.putArray("tools");
    root.put("top_p", 1.0);
    root.put("truncation", "disabled");
    if (done) {
      ObjectNode usage = root.putObject("usage");
      usage.put("input_tokens", g.promptTokens());
      usage.putObject("input_tokens_details").put("cached_tokens", 0);
      usage.put("output_tokens", g.completionTokens());
      usage.putObject("output_tokens_details").put("reasoning_tokens", 0);
      usage.put("total_tokens", g.promptTokens() + g.completionTokens());
    } else {
      root.putNull("usage");
    }
    root.putNull("user");
    root.putObject("metadata");
    return root;
  }

  static ObjectNode responseMessage(Generation g, boolean done) {
    ObjectNode item = NODES.objectNode();
    item.put("id", messageId(g));
    item.put("type", "message");
    item.put("status", done ? "completed" : "in_progress");
    ArrayNode content = item.putArray("content");
    if (done) {
      content.add(outputText(g.text()));
    }
    item.put("role", "assistant");
    return item;
  }

  static ObjectNode outputText(String text) {
    ObjectNode part = NODES.objectNode();
    part.put("type", "output_text");
    part.putArray("annotations");
    part.putArray("logprobs");
    part.put("text", text);
    return part;
  }

  static String messageId(Generation g) {
    return "msg_" + g.id().substring("resp_".length());
  }

  static ObjectNode event(String type, int sequenceNumber) {
    ObjectNode event = NODES.objectNode();
    event.put("type", type);
    event.put("sequence_number", sequenceNumber);
    return event;
  }

  // ---- embeddings and models ----

  static ObjectNode embeddings(MockRequest request) {
    ObjectNode root = NODES.objectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    List<String> inputs = request.inputTexts();
    for (int i = 0; i < inputs.size(); i++) {
      ObjectNode item = data.addObject();
      item.put("object", "embedding");
      item.put("index", i);
      float[] vector = vector(inputs.get(i), request.dimensions());
      if (request.base64()) {
        ByteBuffer buffer = ByteBuffer.allocate(vector.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(vector);
        item.put("embedding", Base64.getEncoder().encodeToString(buffer.array()));
      } else {
        ArrayNode values = item.putArray("embedding");
        for (float v : vector) {
          values.add(v);
        }
      }
    }
    root.put("model", request.model());
    ObjectNode usage = root.putObject("usage");
    usage.put("prompt_tokens", request.promptTokens());
    usage.put("total_tokens", request.promptTokens());
    return root;
  }

  /** A unit vector determined by the text alone: the same input always embeds the same. */
  static float[] vector(String text, int dimensions) {
    long seed = 0xcbf29ce484222325L; // FNV-1a over the UTF-16 units
    for (int i = 0; i < text.length(); i++) {
      seed = (seed ^ text.charAt(i)) * 0x100000001b3L;
    }
    SplittableRandom random = new SplittableRandom(seed);
    float[] vector = new float[dimensions];
    double norm = 0;
    for (int i = 0; i < dimensions; i++) {
      vector[i] = (float) (random.nextDouble() * 2 - 1);
      norm += vector[i] * vector[i];
    }
    float scale = (float) (1 / Math.sqrt(norm));
    for (int i = 0; i < dimensions; i++) {
      vector[i] *= scale;
    }
    return vector;
  }

  static ObjectNode models(List<String> ids, long createdEpochSeconds) {
    ObjectNode root = NODES.objectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    for (String id : ids) {
      data.add(model(id, createdEpochSeconds));
    }
    return root;
  }

  static ObjectNode model(String id, long createdEpochSeconds) {
    ObjectNode model = NODES.objectNode();
    model.put("id", id);
    model.put("object", "model");
    model.put("created", createdEpochSeconds);
    model.put("owned_by", "penstock-mock");
    return model;
  }

  private static ObjectNode header(String id, String object, long created, String model) {
    ObjectNode root = NODES.objectNode();
    root.put("id", id);
    root.put("object", object);
    root.put("created", created);
    root.put("model", model);
    return root;
  }
}
