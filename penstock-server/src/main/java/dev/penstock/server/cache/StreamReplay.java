package dev.penstock.server.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.server.openai.Endpoint;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Replays a cached whole answer as the stream a streamed request expects, in the provider's event
 * shapes, so that the SDKs' streaming code cannot tell it from a live one.
 *
 * <h2>Per endpoint</h2>
 *
 * <ul>
 *   <li>Chat: per choice a chunk with the role, one with the content (and its logprobs), one per
 *       tool call, one with the refusal, one with the finish reason; then, when the client asked
 *       ({@code stream_options.include_usage}), a usage chunk with no choices (and {@code "usage":
 *       null} on the others, as OpenAI sends them); then {@code data: [DONE]}.
 *   <li>Legacy completions: per choice its text, then its finish reason; usage when asked; {@code
 *       [DONE]}.
 *   <li>Responses: {@code response.created}, {@code .in_progress}, per output item {@code
 *       output_item.added}, its content parts ({@code content_part.added}, {@code
 *       output_text.delta}, {@code output_text.done}, {@code content_part.done}) and {@code
 *       output_item.done}, then {@code response.completed} with the whole response; numbered by
 *       {@code sequence_number}; no {@code [DONE]}.
 * </ul>
 */
final class StreamReplay {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private StreamReplay() {}

  /** The SSE bytes replaying {@code whole}, an answer of {@code endpoint}. */
  static byte[] of(Endpoint endpoint, JsonNode whole, boolean includeUsage) {
    Events out = new Events();
    switch (endpoint) {
      case CHAT -> chat(whole, includeUsage, out);
      case COMPLETIONS -> completions(whole, includeUsage, out);
      case RESPONSES -> responses(whole, out);
      case EMBEDDINGS -> throw new IllegalArgumentException("embeddings do not stream");
    }
    return out.bytes();
  }

  private static void chat(JsonNode whole, boolean includeUsage, Events out) {
    for (JsonNode choice : whole.path("choices")) {
      int index = choice.path("index").asInt(0);
      JsonNode message = choice.path("message");
      ObjectNode role = NODES.objectNode();
      role.put("role", message.path("role").asText("assistant"));
      if (message.path("content").isTextual()) {
        role.put("content", ""); // as OpenAI starts a text answer; a tool call's says null
      } else {
        role.putNull("content");
      }
      out.data(chatChunk(whole, index, role, null, includeUsage));
      if (message.path("content").isTextual()) {
        ObjectNode content = NODES.objectNode().put("content", message.get("content").asText());
        ObjectNode chunk = chatChunk(whole, index, content, null, includeUsage);
        if (choice.path("logprobs").isObject()) {
          ((ObjectNode) chunk.withArray("choices").get(0)).set("logprobs", choice.get("logprobs"));
        }
        out.data(chunk);
      }
      int call = 0;
      for (JsonNode toolCall : message.path("tool_calls")) {
        ObjectNode piece = toolCall.deepCopy();
        piece.put("index", call++);
        ObjectNode delta = NODES.objectNode();
        delta.putArray("tool_calls").add(piece);
        out.data(chatChunk(whole, index, delta, null, includeUsage));
      }
      if (message.path("refusal").isTextual()) {
        ObjectNode refusal = NODES.objectNode().put("refusal", message.get("refusal").asText());
        out.data(chatChunk(whole, index, refusal, null, includeUsage));
      }
      out.data(
          chatChunk(whole, index, NODES.objectNode(), choice.path("finish_reason"), includeUsage));
    }
    if (includeUsage && whole.has("usage")) {
      ObjectNode usage = head(whole, "chat.completion.chunk");
      usage.putArray("choices");
      usage.set("usage", whole.get("usage"));
      out.data(usage);
    }
    out.done();
  }

  private static ObjectNode chatChunk(
      JsonNode whole,
      int index,
      ObjectNode delta,
      com.fasterxml.jackson.databind.@org.jspecify.annotations.Nullable JsonNode finish,
      boolean includeUsage) {
    ObjectNode chunk = head(whole, "chat.completion.chunk");
    ObjectNode choice = chunk.putArray("choices").addObject();
    choice.put("index", index);
    choice.set("delta", delta);
    choice.putNull("logprobs");
    choice.set(
        "finish_reason", finish == null || finish.isMissingNode() ? NODES.nullNode() : finish);
    if (includeUsage) {
      chunk.putNull("usage");
    }
    return chunk;
  }

  private static void completions(JsonNode whole, boolean includeUsage, Events out) {
    for (JsonNode choice : whole.path("choices")) {
      int index = choice.path("index").asInt(0);
      out.data(completionChunk(whole, index, choice.path("text").asText(""), null));
      out.data(completionChunk(whole, index, "", choice.path("finish_reason")));
    }
    if (includeUsage && whole.has("usage")) {
      ObjectNode usage = head(whole, "text_completion");
      usage.putArray("choices");
      usage.set("usage", whole.get("usage"));
      out.data(usage);
    }
    out.done();
  }

  private static ObjectNode completionChunk(
      JsonNode whole,
      int index,
      String text,
      com.fasterxml.jackson.databind.@org.jspecify.annotations.Nullable JsonNode finish) {
    ObjectNode chunk = head(whole, "text_completion");
    ObjectNode choice = chunk.putArray("choices").addObject();
    choice.put("text", text);
    choice.put("index", index);
    choice.putNull("logprobs");
    choice.set(
        "finish_reason", finish == null || finish.isMissingNode() ? NODES.nullNode() : finish);
    return chunk;
  }

  private static ObjectNode head(JsonNode whole, String object) {
    ObjectNode chunk = NODES.objectNode();
    chunk.set("id", whole.path("id"));
    chunk.put("object", object);
    chunk.set("created", whole.path("created"));
    chunk.set("model", whole.path("model"));
    if (whole.has("system_fingerprint")) {
      chunk.set("system_fingerprint", whole.get("system_fingerprint"));
    }
    return chunk;
  }

  private static void responses(JsonNode whole, Events out) {
    int[] seq = {0};
    ObjectNode pending = ((ObjectNode) whole).deepCopy();
    pending.put("status", "in_progress");
    pending.putArray("output");
    pending.putNull("usage");
    out.named(event("response.created", seq).set("response", pending));
    out.named(event("response.in_progress", seq).set("response", pending));
    int outputIndex = 0;
    for (JsonNode item : whole.path("output")) {
      ObjectNode started = ((ObjectNode) item).deepCopy();
      boolean message = "message".equals(item.path("type").asText());
      if (message) {
        started.put("status", "in_progress");
        started.putArray("content");
      }
      out.named(
          event("response.output_item.added", seq)
              .put("output_index", outputIndex)
              .set("item", started));
      if (message) {
        int contentIndex = 0;
        for (JsonNode part : item.path("content")) {
          contentParts(item.path("id").asText(""), outputIndex, contentIndex++, part, seq, out);
        }
      }
      out.named(
          event("response.output_item.done", seq)
              .put("output_index", outputIndex)
              .set("item", item));
      outputIndex++;
    }
    String last =
        "incomplete".equals(whole.path("status").asText())
            ? "response.incomplete"
            : "response.completed";
    out.named(event(last, seq).set("response", whole));
  }

  private static void contentParts(
      String itemId, int outputIndex, int contentIndex, JsonNode part, int[] seq, Events out) {
    boolean text = "output_text".equals(part.path("type").asText());
    ObjectNode empty = ((ObjectNode) part).deepCopy();
    if (text) {
      empty.put("text", "");
    }
    out.named(
        part(event("response.content_part.added", seq), itemId, outputIndex, contentIndex)
            .set("part", empty));
    if (text) {
      ArrayNode logprobs = NODES.arrayNode();
      out.named(
          part(event("response.output_text.delta", seq), itemId, outputIndex, contentIndex)
              .put("delta", part.path("text").asText(""))
              .set("logprobs", logprobs));
      out.named(
          part(event("response.output_text.done", seq), itemId, outputIndex, contentIndex)
              .put("text", part.path("text").asText(""))
              .set("logprobs", logprobs));
    }
    out.named(
        part(event("response.content_part.done", seq), itemId, outputIndex, contentIndex)
            .set("part", part));
  }

  private static ObjectNode event(String type, int[] seq) {
    return NODES.objectNode().put("type", type).put("sequence_number", seq[0]++);
  }

  private static ObjectNode part(ObjectNode event, String itemId, int outputIndex, int index) {
    return event
        .put("item_id", itemId)
        .put("output_index", outputIndex)
        .put("content_index", index);
  }

  /** The stream being written. */
  private static final class Events {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(1024);

    void data(JsonNode chunk) {
      out.writeBytes(("data: " + chunk + "\n\n").getBytes(StandardCharsets.UTF_8));
    }

    void named(JsonNode event) {
      String type = event.path("type").asText();
      out.writeBytes(
          ("event: " + type + "\ndata: " + event + "\n\n").getBytes(StandardCharsets.UTF_8));
    }

    void done() {
      out.writeBytes("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
    }

    byte[] bytes() {
      return out.toByteArray();
    }
  }
}
