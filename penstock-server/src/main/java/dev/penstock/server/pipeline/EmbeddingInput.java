package dev.penstock.server.pipeline;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.server.openai.OpenAiRequest;
import dev.penstock.server.openai.RequestReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One embeddings request's input as a batch sees it: its items — each embedded on its own, one
 * vector each, in order — and the {@link Key} of the batches it may join.
 *
 * <p>Requests merge when everything in their bodies but {@code input} is equal (the served model,
 * {@code dimensions}, {@code encoding_format}, and {@code user}: requests of different end users
 * are not merged, so that the provider still sees whom each input is for) and their inputs are of
 * the same kind: text (a string or an array of strings) or tokens (an array of token ids, or an
 * array of such arrays). An input of neither kind, or one mixing both, goes alone, as sent.
 */
final class EmbeddingInput {
  /** What an input's items are. */
  enum Kind {
    TEXT,
    TOKENS
  }

  /**
   * What requests must share to be merged.
   *
   * @param model the public model served (after a canary's choice)
   * @param rest the body without {@code model} and {@code input} (objects compare by content)
   */
  record Key(String model, Kind kind, JsonNode rest) {}

  private final Key key;
  private final ObjectNode body;
  private final List<JsonNode> items;
  private final long estimatedTokens;

  private EmbeddingInput(Key key, ObjectNode body, List<JsonNode> items, long estimatedTokens) {
    this.key = key;
    this.body = body;
    this.items = List.copyOf(items);
    this.estimatedTokens = estimatedTokens;
  }

  /** The request's input, or null when it cannot be merged with others. */
  static @Nullable EmbeddingInput of(OpenAiRequest request) {
    JsonNode root;
    try {
      root = RequestReader.JSON.readTree(request.body());
    } catch (IOException e) {
      return null; // the reader accepted it; never happens
    }
    if (!(root instanceof ObjectNode body)) {
      return null;
    }
    JsonNode input = body.path("input");
    List<JsonNode> items = new ArrayList<>();
    Kind kind = items(input, items);
    if (kind == null) {
      return null;
    }
    ObjectNode rest = body.deepCopy();
    rest.remove("input");
    rest.remove("model");
    return new EmbeddingInput(
        new Key(request.model(), kind, rest), body, items, request.promptTokens());
  }

  /** Fills {@code items} and says their kind, or returns null for an input that goes alone. */
  private static @Nullable Kind items(JsonNode input, List<JsonNode> items) {
    if (input.isTextual()) {
      items.add(input);
      return Kind.TEXT;
    }
    if (!input.isArray() || input.isEmpty()) {
      return null;
    }
    if (allOf(input, JsonNode::isTextual)) {
      input.forEach(items::add);
      return Kind.TEXT;
    }
    if (allOf(input, JsonNode::isIntegralNumber)) {
      items.add(input); // one list of token ids: one item
      return Kind.TOKENS;
    }
    if (allOf(
        input, one -> one.isArray() && !one.isEmpty() && allOf(one, JsonNode::isIntegralNumber))) {
      input.forEach(items::add);
      return Kind.TOKENS;
    }
    return null;
  }

  private static boolean allOf(JsonNode array, java.util.function.Predicate<JsonNode> test) {
    for (JsonNode one : array) {
      if (!test.test(one)) {
        return false;
      }
    }
    return true;
  }

  Key key() {
    return key;
  }

  /** How many vectors the request asks for. */
  int size() {
    return items.size();
  }

  /** The request's prompt token estimate (its share of a merged call's usage is weighed by it). */
  long estimatedTokens() {
    return estimatedTokens;
  }

  /**
   * The merged request's body: the first request's body, naming the served model, with the items of
   * all of them in order as its input — an array of strings, or an array of token-id arrays.
   */
  static byte[] merge(List<EmbeddingInput> inputs) {
    EmbeddingInput first = inputs.getFirst();
    ObjectNode merged = first.body.deepCopy();
    ArrayNode all = merged.arrayNode();
    for (EmbeddingInput input : inputs) {
      input.items.forEach(all::add);
    }
    merged.set("input", all);
    // The served model (a canary's may differ from the one the first client named): each
    // deployment puts its upstream model in its place when it sends.
    merged.put("model", first.key.model());
    try {
      return RequestReader.JSON.writeValueAsBytes(merged);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
