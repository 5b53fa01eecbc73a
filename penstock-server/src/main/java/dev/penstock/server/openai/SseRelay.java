package dev.penstock.server.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Watches an SSE stream as it is relayed — without holding any of it back — to learn its usage and
 * whether it ended properly: {@code data: [DONE]} for chat and legacy completions, a terminal
 * {@code response.*} event for the Responses API.
 *
 * <p>The stream is parsed as SSE ({@link SseParser}) and each event's data as JSON, so that
 * whitespace, key order and line endings are whatever the upstream chose. Only the top level of an
 * event is looked at: {@code type}, {@code usage}, {@code error} and a Responses event's {@code
 * response.usage}; the rest (the choices, the output) is skipped by the JSON parser without
 * building it.
 *
 * <p>Not thread-safe: one per stream.
 */
public final class SseRelay {
  private static final Set<String> TERMINAL =
      Set.of("response.completed", "response.incomplete", "response.failed");

  private final SseParser parser = new SseParser(this::onEvent);
  private Usage usage = Usage.UNKNOWN;
  private boolean finished;
  private boolean errorEvent;

  /** Feeds bytes that were just relayed to the client. */
  public void accept(byte[] bytes, int offset, int length) {
    parser.accept(bytes, offset, length);
  }

  private void onEvent(String eventType, String data) {
    if (data.equals("[DONE]")) {
      finished = true;
      return;
    }
    if (eventType.equals("error")) {
      errorEvent = true;
    }
    if (TERMINAL.contains(eventType)) {
      finished = true;
    }
    try (JsonParser json = RequestReader.JSON.getFactory().createParser(data)) {
      if (json.nextToken() != JsonToken.START_OBJECT) {
        return;
      }
      while (json.nextToken() == JsonToken.FIELD_NAME) {
        String field = json.currentName();
        JsonToken value = json.nextToken();
        switch (field) {
          case "type" -> onType(value == JsonToken.VALUE_STRING ? json.getText() : "");
          case "usage" -> onUsage(value == JsonToken.START_OBJECT ? json.readValueAsTree() : null);
          case "error" -> {
            errorEvent |= value != JsonToken.VALUE_NULL;
            json.skipChildren();
          }
          case "response" -> {
            if (value == JsonToken.START_OBJECT) {
              JsonNode response = json.readValueAsTree();
              onUsage(response.path("usage"));
            }
          }
          default -> json.skipChildren();
        }
      }
    } catch (IOException e) {
      // A malformed event is the client's to see; it carries no usage for us.
    }
  }

  private void onType(String type) {
    if (TERMINAL.contains(type)) {
      finished = true;
    } else if (type.equals("error")) {
      errorEvent = true;
    }
  }

  private void onUsage(@Nullable JsonNode node) {
    if (node == null) {
      return;
    }
    Usage parsed = Usage.of(node);
    if (parsed.known()) {
      usage = parsed;
    }
  }

  public Usage usage() {
    return usage;
  }

  /** Whether the stream reached its proper end. */
  public boolean finished() {
    return finished;
  }

  /** Whether the upstream itself sent an error event in the stream. */
  public boolean sawErrorEvent() {
    return errorEvent;
  }
}
