package dev.penstock.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How the JSON inside each server-sent event is written. Both styles carry exactly the same values;
 * {@link #SPACED} exists so that a client's stream parser can be tested for tolerance of what JSON
 * allows and OpenAI happens not to send.
 *
 * <ul>
 *   <li>{@link #COMPACT} — OpenAI's own: no whitespace, fields in OpenAI's order ({@code "id"}
 *       first, {@code "usage"} after {@code "choices"}, a Responses event's {@code "type"} first).
 *   <li>{@link #SPACED} — a space after every {@code :} and {@code ,}, and every object's fields in
 *       reverse order, at every depth: {@code "usage"} comes before {@code "choices"}, {@code
 *       "total_tokens"} before {@code "prompt_tokens"}, a Responses event's {@code "type"} last.
 * </ul>
 *
 * <p>Only the events' JSON changes: the SSE framing ({@code event:}, {@code data:}, blank lines,
 * {@code data: [DONE]}) and non-streamed bodies stay as OpenAI writes them.
 */
public enum StreamJsonStyle {
  COMPACT,
  SPACED;

  /** The name used in YAML and on the command line: {@code compact}, {@code spaced}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static StreamJsonStyle fromWireName(String name) {
    for (StreamJsonStyle style : values()) {
      if (style.wireName().equals(name)) {
        return style;
      }
    }
    throw new IllegalArgumentException("unknown style '" + name + "'; known: compact, spaced");
  }

  String write(JsonNode node) {
    if (this == COMPACT) {
      return Wire.text(node);
    }
    StringBuilder out = new StringBuilder();
    spaced(node, out);
    return out.toString();
  }

  private static void spaced(JsonNode node, StringBuilder out) {
    if (node.isObject()) {
      List<Map.Entry<String, JsonNode>> fields = new ArrayList<>(node.properties());
      out.append('{');
      for (int i = fields.size() - 1; i >= 0; i--) {
        out.append(Wire.text(TextNode.valueOf(fields.get(i).getKey()))).append(": ");
        spaced(fields.get(i).getValue(), out);
        out.append(i > 0 ? ", " : "");
      }
      out.append('}');
    } else if (node.isArray()) {
      out.append('[');
      for (int i = 0; i < node.size(); i++) {
        out.append(i > 0 ? ", " : "");
        spaced(node.get(i), out);
      }
      out.append(']');
    } else {
      out.append(Wire.text(node));
    }
  }
}
