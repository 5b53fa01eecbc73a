package dev.penstock.server.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The body an upstream gets: the client's bytes with at most two edits, each spliced in where its
 * value sits, so that every other byte is the client's (SPEC 2: Penstock does not re-serialise what
 * it does not need to change).
 *
 * <ul>
 *   <li>The top-level {@code model} becomes the deployment's upstream model.
 *   <li>{@code stream_options.include_usage} becomes {@code true}, for a stream whose client did
 *       not ask for its usage: OpenAI sends a stream's usage only when asked, and the gateway needs
 *       it to count and price every request. The relay withholds the usage chunk from such a client
 *       ({@link SseRelay#withholdingUsage()}). The field is added where it is missing ({@code
 *       "stream_options":{"include_usage":true},} right after the body's opening brace, or {@code
 *       "include_usage":true} inside the client's {@code stream_options}) and a {@code false} or
 *       {@code null} is replaced.
 * </ul>
 *
 * <p>The places are found with a streaming parse of the top level (and of {@code stream_options}),
 * skipping everything else — the messages — without building it. The body must be one the {@link
 * RequestReader} accepted: a JSON object whose {@code stream_options} is absent, null or an object
 * whose {@code include_usage} is absent, null or a boolean. Thread-safe (stateless).
 */
public final class UpstreamBody {
  private static final byte[] TRUE = ascii("true");
  private static final byte[] OPTIONS = ascii("{\"include_usage\":true}");
  private static final byte[] OPTIONS_FIELD = ascii("\"stream_options\":{\"include_usage\":true}");
  private static final byte[] INCLUDE_FIELD = ascii("\"include_usage\":true");
  private static final byte[] COMMA = ascii(",");

  private UpstreamBody() {}

  /**
   * The body with its edits; the same array when there are none.
   *
   * @param model the model to name instead of the client's, or null to keep the client's
   * @param includeUsage whether to make {@code stream_options.include_usage} true
   * @throws IllegalArgumentException for a body the reader would not have accepted
   */
  public static byte[] of(byte[] body, @Nullable String model, boolean includeUsage) {
    if (model == null && !includeUsage) {
      return body;
    }
    List<Edit> edits = new ArrayList<>(2);
    try (JsonParser parser = RequestReader.JSON.getFactory().createParser(body)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("not an object");
      }
      int open = start(parser);
      boolean empty = true;
      boolean modelSeen = false;
      boolean optionsSeen = false;
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        empty = false;
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if (model != null && "model".equals(name) && value == JsonToken.VALUE_STRING) {
          int start = start(parser);
          parser.getText(); // consume the string so that the location moves past it
          int end = (int) parser.currentLocation().getByteOffset();
          edits.add(new Edit(start, end, RequestReader.JSON.writeValueAsBytes(model)));
          modelSeen = true;
        } else if (includeUsage && "stream_options".equals(name)) {
          streamOptions(parser, value, edits);
          optionsSeen = true;
        } else {
          parser.skipChildren();
        }
      }
      if (model != null && !modelSeen) {
        throw new IllegalArgumentException("no model");
      }
      if (includeUsage && !optionsSeen) {
        edits.add(insert(open + 1, OPTIONS_FIELD, !empty));
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(e);
    }
    return apply(body, edits);
  }

  /** The edit that makes a {@code stream_options} value (the current token) include usage. */
  private static void streamOptions(JsonParser parser, JsonToken value, List<Edit> edits)
      throws IOException {
    if (value == JsonToken.VALUE_NULL) {
      int start = start(parser);
      edits.add(new Edit(start, start + "null".length(), OPTIONS));
      return;
    }
    if (value != JsonToken.START_OBJECT) {
      throw new IllegalArgumentException("stream_options is not an object");
    }
    int open = start(parser);
    boolean empty = true;
    boolean seen = false;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      empty = false;
      String name = parser.currentName();
      JsonToken include = parser.nextToken();
      if (!"include_usage".equals(name)) {
        parser.skipChildren();
        continue;
      }
      seen = true;
      int start = start(parser);
      switch (include) {
        case VALUE_TRUE -> {}
        case VALUE_FALSE -> edits.add(new Edit(start, start + "false".length(), TRUE));
        case VALUE_NULL -> edits.add(new Edit(start, start + "null".length(), TRUE));
        default -> throw new IllegalArgumentException("include_usage is not a boolean");
      }
    }
    if (!seen) {
      edits.add(insert(open + 1, INCLUDE_FIELD, !empty));
    }
  }

  /** Inserts a field at {@code at}, followed by a comma when other fields follow it. */
  private static Edit insert(int at, byte[] field, boolean beforeAnother) {
    if (!beforeAnother) {
      return new Edit(at, at, field);
    }
    byte[] withComma = new byte[field.length + 1];
    System.arraycopy(field, 0, withComma, 0, field.length);
    withComma[field.length] = COMMA[0];
    return new Edit(at, at, withComma);
  }

  private static byte[] apply(byte[] body, List<Edit> edits) {
    if (edits.isEmpty()) {
      return body;
    }
    edits.sort(Comparator.comparingInt(Edit::start));
    ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 64);
    int at = 0;
    for (Edit edit : edits) {
      out.write(body, at, edit.start() - at);
      out.write(edit.replacement(), 0, edit.replacement().length);
      at = edit.end();
    }
    out.write(body, at, body.length - at);
    return out.toByteArray();
  }

  /** The byte offset where the current token starts. */
  private static int start(JsonParser parser) {
    return (int) parser.currentTokenLocation().getByteOffset();
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  /** Bytes {@code [start, end)} of the body become {@code replacement}. */
  @SuppressWarnings("ArrayRecordComponent") // a carrier, never compared
  private record Edit(int start, int end, byte[] replacement) {}
}
