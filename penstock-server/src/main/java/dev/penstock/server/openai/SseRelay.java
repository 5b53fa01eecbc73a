package dev.penstock.server.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Watches an SSE stream as it is relayed to learn its usage and whether it ended properly: {@code
 * data: [DONE]} for chat and legacy completions, a terminal {@code response.*} event for the
 * Responses API — and, for a client that did not ask for its usage, takes the usage chunk out.
 *
 * <p>The stream is parsed as SSE ({@link SseParser}) and each event's data as JSON, so that
 * whitespace, key order and line endings are whatever the upstream chose. Only the top level of an
 * event is looked at: {@code type}, {@code usage}, {@code choices} (empty or not), {@code error}
 * and a Responses event's {@code response.usage}; the rest (the choices, the output) is skipped by
 * the JSON parser without building it.
 *
 * <h2>Two modes</h2>
 *
 * <p>{@link #watching()} holds nothing back: the relay forwards each read as it is and only feeds
 * it here. {@link #withholdingUsage()} is for a stream whose upstream was asked for its usage on
 * the client's behalf ({@link UpstreamBody}): OpenAI then ends the stream with one chunk of {@code
 * "choices": []} and a {@code usage} object, which this client did not ask for and must not get.
 * The bytes are cut at block bounds (the blank lines that end events): a block is released once it
 * is complete and known not to be that chunk ({@link #release()}), byte for byte, {@code [DONE]}
 * included; the usage chunk's block is dropped after its usage is read. So an event reaches the
 * client when its last byte has arrived, not before — a chunk is one event or several whole ones in
 * practice, so this delays nothing real. Comments (keep-alives) are released with their block.
 *
 * <p>A block grown past {@link SseParser#MAX_LINE} bytes without ending is released as it comes
 * (its event cannot be the small usage chunk, and holding it would let an upstream make the relay
 * hold unbounded memory).
 *
 * <p>Not thread-safe: one per stream.
 */
public final class SseRelay {
  private static final Set<String> TERMINAL =
      Set.of("response.completed", "response.incomplete", "response.failed");

  /** The most bytes of one unfinished block held back before it is released as it comes. */
  private static final int MAX_HELD = SseParser.MAX_LINE;

  private final boolean withholdUsage;
  private final SseParser parser = new SseParser(new Events());
  private Usage usage = Usage.UNKNOWN;
  private boolean finished;
  private int errorEvents;

  // ---- withholding only: the bytes of the current accept() call and the blocks cut from them

  /** The bytes decided to go to the client, not yet released. */
  private final ByteArrayOutputStream released = new ByteArrayOutputStream(512);

  /** The bytes of the block under way, from earlier reads, not yet decided. */
  private final ByteArrayOutputStream held = new ByteArrayOutputStream(1024);

  private static final byte[] NO_BYTES = new byte[0];

  private byte[] chunk = NO_BYTES;
  private int chunkOffset;

  /** The stream position of {@code chunk[chunkOffset]}. */
  private long chunkPosition;

  /** Where in {@code chunk} the bytes not yet taken begin. */
  private int cursor;

  /** The block under way is the usage chunk: dropped when it ends. */
  private boolean dropBlock;

  /** The block under way grew too large to hold: its bytes are released as they come. */
  private boolean passBlock;

  /**
   * The last block ended with a CR, whose LF may still come: the LF then shares that block's fate
   * ({@link #LF_KEEP} or {@link #LF_DROP}); {@link #LF_NONE} otherwise.
   */
  private int pendingLf = LF_NONE;

  private static final int LF_NONE = 0;
  private static final int LF_KEEP = 1;
  private static final int LF_DROP = 2;

  private SseRelay(boolean withholdUsage) {
    this.withholdUsage = withholdUsage;
  }

  /** A relay that only watches: the caller forwards the bytes it reads as they are. */
  public static SseRelay watching() {
    return new SseRelay(false);
  }

  /**
   * A relay that takes the usage chunk out of the stream: the caller forwards what {@link
   * #release()} returns after each {@link #accept}, and {@link #rest()} at the stream's end.
   */
  public static SseRelay withholdingUsage() {
    return new SseRelay(true);
  }

  /** Whether this relay withholds the usage chunk (and so decides what the client gets). */
  public boolean withholding() {
    return withholdUsage;
  }

  /** Feeds the next bytes read from the upstream. */
  public void accept(byte[] bytes, int offset, int length) {
    if (!withholdUsage) {
      parser.accept(bytes, offset, length);
      return;
    }
    chunk = bytes;
    chunkOffset = offset;
    chunkPosition = parser.position();
    cursor = offset;
    parser.accept(bytes, offset, length); // cuts whole blocks through Events.blockEnd()
    take(offset + length);
    chunk = NO_BYTES;
  }

  /**
   * Withholding: the bytes for the client since the last call — whole blocks, in order, byte for
   * byte, without the usage chunk; empty while no block has ended.
   */
  public byte[] release() {
    byte[] out = released.toByteArray();
    released.reset();
    return out;
  }

  /**
   * Withholding, at the stream's end: the bytes of an unfinished last block, which the client gets
   * as the upstream sent them (they cannot be a usage chunk: no event was dispatched from them).
   */
  public byte[] rest() {
    byte[] out = held.toByteArray();
    held.reset();
    return out;
  }

  /** Moves {@code chunk[cursor, end)} into the block under way. */
  private void take(int end) {
    int from = cursor;
    cursor = end;
    if (from < end && pendingLf != LF_NONE) {
      if (chunk[from] == '\n') {
        if (pendingLf == LF_KEEP) {
          released.write('\n');
        }
        from++;
      }
      pendingLf = LF_NONE;
    }
    if (from >= end) {
      return;
    }
    if (passBlock) {
      released.write(chunk, from, end - from);
      return;
    }
    held.write(chunk, from, end - from);
    if (held.size() > MAX_HELD) {
      released.writeBytes(held.toByteArray());
      held.reset();
      passBlock = true;
    }
  }

  /** A block ended at the parser's position: release it, or drop the usage chunk. */
  private void endBlock() {
    int end = chunkOffset + (int) (parser.position() - chunkPosition);
    take(end);
    boolean drop = dropBlock && !passBlock;
    if (!drop) {
      released.writeBytes(held.toByteArray());
    }
    held.reset();
    pendingLf = chunk[end - 1] == '\r' ? (drop ? LF_DROP : LF_KEEP) : LF_NONE;
    dropBlock = false;
    passBlock = false;
  }

  /** The parser's callbacks. */
  private final class Events implements SseParser.Listener {
    @Override
    public void event(String type, String data) {
      onEvent(type, data);
    }

    @Override
    public void blockEnd() {
      if (withholdUsage) {
        endBlock();
      }
    }
  }

  private void onEvent(String eventType, String data) {
    if (data.equals("[DONE]")) {
      finished = true;
      return;
    }
    boolean error = eventType.equals("error");
    if (TERMINAL.contains(eventType)) {
      finished = true;
    }
    try {
      Scan scan = scan(data);
      error |= scan.error();
      // OpenAI's usage chunk: no choices, a usage object. (Azure's first chunk also has no
      // choices, but its prompt_filter_results and no usage: the client gets it.)
      dropBlock = withholdUsage && scan.usageOnly() && !error;
    } catch (IOException e) {
      // A malformed event is the client's to see; it carries no usage for us.
    }
    if (error) {
      errorEvents++;
    }
  }

  /** What an event's top level says. */
  private record Scan(boolean error, boolean usageOnly) {}

  /** Reads an event's top level for usage, its end, and whether it is an error. */
  private Scan scan(String data) throws IOException {
    boolean error = false;
    boolean noChoices = false;
    boolean hasUsage = false;
    try (JsonParser json = RequestReader.JSON.getFactory().createParser(data)) {
      if (json.nextToken() != JsonToken.START_OBJECT) {
        return new Scan(false, false);
      }
      while (json.nextToken() == JsonToken.FIELD_NAME) {
        String field = json.currentName();
        JsonToken value = json.nextToken();
        switch (field) {
          case "type" -> error |= onType(value == JsonToken.VALUE_STRING ? json.getText() : "");
          case "usage" -> {
            hasUsage = value == JsonToken.START_OBJECT;
            onUsage(hasUsage ? json.readValueAsTree() : null);
          }
          case "choices" -> noChoices = value == JsonToken.START_ARRAY && emptyArray(json);
          case "error" -> {
            error |= value != JsonToken.VALUE_NULL;
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
    }
    return new Scan(error, noChoices && hasUsage);
  }

  /** At an array's start: whether it is empty; either way, skips to its end. */
  private static boolean emptyArray(JsonParser json) throws IOException {
    boolean empty = true;
    for (JsonToken token = json.nextToken();
        token != JsonToken.END_ARRAY;
        token = json.nextToken()) {
      if (token == null) {
        throw new IOException("unexpected end of an array");
      }
      empty = false;
      json.skipChildren();
    }
    return empty;
  }

  /** A Responses event's type: its end, or an error (returns whether it is one). */
  private boolean onType(String type) {
    if (TERMINAL.contains(type)) {
      finished = true;
    }
    return type.equals("error");
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
    return errorEvents > 0;
  }

  /** How many error events the upstream sent so far. */
  public int errorEvents() {
    return errorEvents;
  }
}
