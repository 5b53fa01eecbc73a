package dev.penstock.server.openai;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * An incremental parser of a {@code text/event-stream}, as the HTML standard defines it: lines end
 * with CRLF, LF or CR; a line starting with {@code :} is a comment; {@code field: value} sets a
 * field (one space after the colon is dropped); {@code data} lines accumulate, joined by newlines;
 * a blank line dispatches the event when it has data. Bytes may be cut anywhere between reads.
 *
 * <p>A line longer than {@link #MAX_LINE} bytes is dropped whole, and so is the event it belongs
 * to, so that a hostile upstream cannot make the parser hold unbounded memory. Not thread-safe: one
 * per stream.
 */
public final class SseParser {
  /** The longest line kept, in bytes. */
  public static final int MAX_LINE = 1 << 20;

  /** Receives each dispatched event. */
  @FunctionalInterface
  public interface Listener {
    /**
     * Called once per dispatched event.
     *
     * @param type the {@code event} field, or "" when the event named none
     * @param data the {@code data} lines joined by {@code \n}
     */
    void event(String type, String data);

    /**
     * Called at every blank line — the end of a block of lines, whether or not it dispatched an
     * event (a block of comments does not) — after {@link #event} for that block. {@link
     * #position()} is then just past the blank line's line break (for a CRLF, past its CR: the LF
     * that may follow belongs to the same break). Lets a relay cut the stream at block bounds.
     */
    default void blockEnd() {}
  }

  private final Listener listener;
  private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);
  private boolean lineTooLong;
  private boolean afterCarriageReturn;
  private boolean firstLine = true;
  private final StringBuilder data = new StringBuilder();
  private boolean hasData;
  private boolean eventDamaged;
  private String type = "";
  private long position;

  public SseParser(Listener listener) {
    this.listener = listener;
  }

  /** Feeds the next bytes of the stream. */
  public void accept(byte[] bytes, int offset, int length) {
    for (int i = offset; i < offset + length; i++) {
      byte b = bytes[i];
      position++;
      if (b == '\n' && afterCarriageReturn) {
        afterCarriageReturn = false; // the LF of a CRLF: the line already ended
        continue;
      }
      afterCarriageReturn = b == '\r';
      if (b == '\n' || b == '\r') {
        endLine();
      } else if (line.size() < MAX_LINE) {
        line.write(b);
      } else {
        lineTooLong = true;
      }
    }
  }

  /** How many bytes were fed so far. */
  public long position() {
    return position;
  }

  private void endLine() {
    boolean first = firstLine;
    firstLine = false;
    boolean tooLong = lineTooLong;
    lineTooLong = false;
    if (tooLong) {
      line.reset();
      eventDamaged = true;
      return;
    }
    if (line.size() == 0) {
      dispatch();
      return;
    }
    String text = line.toString(StandardCharsets.UTF_8);
    line.reset();
    if (first && text.charAt(0) == '\uFEFF') {
      text = text.substring(1); // the standard ignores one byte order mark at the stream's start
      if (text.isEmpty()) {
        dispatch();
        return;
      }
    }
    if (text.charAt(0) == ':') {
      return; // a comment (often a keep-alive)
    }
    int colon = text.indexOf(':');
    String field = colon < 0 ? text : text.substring(0, colon);
    String value = colon < 0 ? "" : text.substring(colon + 1);
    if (value.startsWith(" ")) {
      value = value.substring(1);
    }
    switch (field) {
      case "data" -> {
        if (hasData) {
          data.append('\n');
        }
        data.append(value);
        hasData = true;
      }
      case "event" -> type = value;
      default -> {} // id, retry and unknown fields tell the relay nothing
    }
  }

  private void dispatch() {
    if (hasData && !eventDamaged) {
      listener.event(type, data.toString());
    }
    data.setLength(0);
    hasData = false;
    eventDamaged = false;
    type = "";
    listener.blockEnd();
  }
}
