package dev.penstock.server.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.SseParser;
import dev.penstock.server.openai.Usage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Turns a streamed answer, as its client received it, back into the whole answer a non-streamed
 * request gets — the form the cache keeps, so that either kind of request can be answered from it.
 *
 * <h2>Per endpoint</h2>
 *
 * <ul>
 *   <li>Chat: each choice's {@code delta}s joined in order — role, {@code content}, {@code
 *       refusal}, {@code tool_calls} (by their index: id, type, name, the arguments' pieces) and
 *       {@code logprobs.content} — with its {@code finish_reason}, as {@code chat.completion}.
 *   <li>Legacy completions: each choice's {@code text} joined, as {@code text_completion}.
 *   <li>Responses: the {@code response} of {@code response.completed} (or {@code .incomplete}),
 *       which is the whole answer already.
 * </ul>
 *
 * The usage is the stream's own usage chunk when the client received it, else the one the gateway
 * read on its behalf (it asks upstreams for usage on every stream). A stream that did not end
 * properly ({@code [DONE]}, or Responses' final event) is not an answer: {@link #assemble} returns
 * null.
 */
final class StreamAssembler implements SseParser.Listener {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private final Endpoint endpoint;
  private final Map<Integer, Choice> choices = new TreeMap<>();
  private @Nullable JsonNode first;
  private @Nullable JsonNode usage;
  private @Nullable JsonNode response;
  private boolean done;
  private boolean broken;

  private StreamAssembler(Endpoint endpoint) {
    this.endpoint = endpoint;
  }

  /**
   * The whole answer of a stream's bytes, or null when they are not a complete, well-formed stream
   * of {@code endpoint}.
   *
   * @param usage what the gateway learned of the stream's usage, used when the client's bytes carry
   *     none
   */
  static byte @Nullable [] assemble(Endpoint endpoint, byte[] sse, Usage usage) {
    StreamAssembler assembler = new StreamAssembler(endpoint);
    new SseParser(assembler).accept(sse, 0, sse.length);
    return assembler.done && !assembler.broken ? assembler.whole(usage) : null;
  }

  @Override
  public void event(String type, String data) {
    if (done || broken) {
      return;
    }
    if ("[DONE]".equals(data)) {
      done = endpoint != Endpoint.RESPONSES;
      return;
    }
    JsonNode event;
    try {
      event = RequestReader.JSON.readTree(data);
    } catch (IOException e) {
      broken = true;
      return;
    }
    if (event == null || !event.isObject() || event.has("error")) {
      broken = true;
      return;
    }
    if (endpoint == Endpoint.RESPONSES) {
      String name = event.path("type").asText(type);
      if (name.equals("response.completed") || name.equals("response.incomplete")) {
        response = event.get("response");
        done = response != null && response.isObject();
      } else if (name.equals("response.failed") || name.equals("error")) {
        broken = true;
      }
      return;
    }
    chunk(event);
  }

  private void chunk(JsonNode chunk) {
    if (first == null) {
      first = chunk;
    }
    if (chunk.path("usage").isObject()) {
      usage = chunk.get("usage");
    }
    for (JsonNode c : chunk.path("choices")) {
      choices.computeIfAbsent(c.path("index").asInt(0), Choice::new).add(c, endpoint);
    }
  }

  private byte @Nullable [] whole(Usage gatewayUsage) {
    if (endpoint == Endpoint.RESPONSES) {
      return response == null ? null : response.toString().getBytes(StandardCharsets.UTF_8);
    }
    JsonNode head = first;
    if (head == null) {
      return null;
    }
    ObjectNode whole = NODES.objectNode();
    whole.set("id", head.path("id"));
    whole.put("object", endpoint == Endpoint.CHAT ? "chat.completion" : "text_completion");
    whole.set("created", head.path("created"));
    whole.set("model", head.path("model"));
    ArrayNode out = whole.putArray("choices");
    for (Choice choice : choices.values()) {
      out.add(choice.whole(endpoint));
    }
    for (String copied : new String[] {"system_fingerprint", "service_tier"}) {
      if (head.has(copied)) {
        whole.set(copied, head.get(copied));
      }
    }
    JsonNode u = usage != null ? usage : usageNode(gatewayUsage);
    if (u != null) {
      whole.set("usage", u);
    }
    return whole.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static @Nullable JsonNode usageNode(Usage usage) {
    if (!usage.known()) {
      return null;
    }
    ObjectNode u = NODES.objectNode();
    u.put("prompt_tokens", usage.promptTokens());
    u.put("completion_tokens", Math.max(0, usage.completionTokens()));
    u.put("total_tokens", usage.promptTokens() + Math.max(0, usage.completionTokens()));
    if (usage.cachedTokens() > 0) {
      u.putObject("prompt_tokens_details").put("cached_tokens", usage.cachedTokens());
    }
    return u;
  }

  /** One choice, as its chunks arrive. */
  private static final class Choice {
    private final int index;
    private String role = "assistant";
    private final StringBuilder content = new StringBuilder();
    private boolean hasContent;
    private final StringBuilder refusal = new StringBuilder();
    private boolean hasRefusal;
    private final Map<Integer, ObjectNode> toolCalls = new TreeMap<>();
    private @Nullable ArrayNode logprobs;
    private JsonNode finishReason = NODES.nullNode();

    Choice(int index) {
      this.index = index;
    }

    void add(JsonNode c, Endpoint endpoint) {
      if (c.hasNonNull("finish_reason")) {
        finishReason = c.get("finish_reason");
      }
      if (endpoint == Endpoint.COMPLETIONS) {
        if (c.path("text").isTextual()) {
          content.append(c.get("text").asText());
          hasContent = true;
        }
        return;
      }
      JsonNode delta = c.path("delta");
      if (delta.path("role").isTextual()) {
        role = delta.get("role").asText();
      }
      if (delta.path("content").isTextual()) {
        content.append(delta.get("content").asText());
        hasContent = true;
      }
      if (delta.path("refusal").isTextual()) {
        refusal.append(delta.get("refusal").asText());
        hasRefusal = true;
      }
      for (JsonNode call : delta.path("tool_calls")) {
        toolCall(call);
      }
      JsonNode pieces = c.path("logprobs").path("content");
      if (pieces.isArray()) {
        if (logprobs == null) {
          logprobs = NODES.arrayNode();
        }
        logprobs.addAll((ArrayNode) pieces);
      }
    }

    private void toolCall(JsonNode piece) {
      ObjectNode call =
          toolCalls.computeIfAbsent(
              piece.path("index").asInt(0),
              i -> {
                ObjectNode n = NODES.objectNode();
                n.put("type", "function");
                n.putObject("function").put("name", "").put("arguments", "");
                return n;
              });
      if (piece.path("id").isTextual()) {
        call.put("id", piece.get("id").asText());
      }
      if (piece.path("type").isTextual()) {
        call.put("type", piece.get("type").asText());
      }
      ObjectNode function = (ObjectNode) call.get("function");
      JsonNode f = piece.path("function");
      if (f.path("name").isTextual()) {
        function.put("name", function.get("name").asText() + f.get("name").asText());
      }
      if (f.path("arguments").isTextual()) {
        function.put("arguments", function.get("arguments").asText() + f.get("arguments").asText());
      }
    }

    ObjectNode whole(Endpoint endpoint) {
      ObjectNode out = NODES.objectNode();
      out.put("index", index);
      if (endpoint == Endpoint.COMPLETIONS) {
        out.put("text", content.toString());
        out.putNull("logprobs");
        out.set("finish_reason", finishReason);
        return out;
      }
      ObjectNode message = out.putObject("message");
      message.put("role", role);
      if (hasContent) {
        message.put("content", content.toString());
      } else {
        message.putNull("content");
      }
      if (hasRefusal) {
        message.put("refusal", refusal.toString());
      } else {
        message.putNull("refusal");
      }
      if (!toolCalls.isEmpty()) {
        ArrayNode calls = message.putArray("tool_calls");
        toolCalls.values().forEach(calls::add);
      }
      if (logprobs != null) {
        out.putObject("logprobs").set("content", logprobs);
      } else {
        out.putNull("logprobs");
      }
      out.set("finish_reason", finishReason);
      return out;
    }
  }
}
