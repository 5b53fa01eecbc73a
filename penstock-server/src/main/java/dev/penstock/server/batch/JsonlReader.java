package dev.penstock.server.batch;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * Reads a JSONL stream line by line as bytes, never more than one line (of at most {@code
 * maxLineBytes}) in memory: a 200 MB input file is read in one pass with a 64 KB buffer. A line
 * ends at {@code \n}; a {@code \r} before it, and a UTF-8 byte order mark before the first line,
 * are dropped. Not thread-safe.
 */
final class JsonlReader {
  /**
   * One line: its 1-based number, counting every line (blank ones too), and its bytes without the
   * line end (null when it was longer than allowed).
   */
  static final class Line {
    private final int number;
    private final byte @Nullable [] bytes;

    Line(int number, byte @Nullable [] bytes) {
      this.number = number;
      this.bytes = bytes;
    }

    int number() {
      return number;
    }

    byte @Nullable [] bytes() {
      return bytes;
    }

    /** Whether it holds nothing but spaces and tabs. */
    boolean blank() {
      if (bytes == null) {
        return false;
      }
      for (byte b : bytes) {
        if (b != ' ' && b != '\t' && b != '\r') {
          return false;
        }
      }
      return true;
    }
  }

  private final InputStream in;
  private final int maxLineBytes;
  private final byte[] buffer = new byte[64 * 1024];
  private int pos;
  private int limit;
  private boolean eof;
  private int number;
  private byte[] line = new byte[1024];

  JsonlReader(InputStream in, int maxLineBytes) {
    this.in = in;
    this.maxLineBytes = maxLineBytes;
  }

  /** The next line, or null at the end of the stream. */
  @Nullable Line next() throws IOException {
    int length = 0;
    boolean tooLong = false;
    boolean any = false;
    while (true) {
      if (pos == limit) {
        if (eof || !fill()) {
          if (!any) {
            return null;
          }
          break;
        }
      }
      any = true;
      int end = pos;
      while (end < limit && buffer[end] != '\n') {
        end++;
      }
      int chunk = end - pos;
      if (!tooLong) {
        if (length + chunk > maxLineBytes + 1) { // + 1: a '\r' that will be dropped
          tooLong = true;
        } else {
          if (length + chunk > line.length) {
            line = Arrays.copyOf(line, Math.max(line.length * 2, length + chunk));
          }
          System.arraycopy(buffer, pos, line, length, chunk);
          length += chunk;
        }
      }
      pos = end;
      if (end < limit) {
        pos++; // the '\n'
        break;
      }
    }
    number++;
    if (tooLong) {
      return new Line(number, null);
    }
    if (length > 0 && line[length - 1] == '\r') {
      length--;
    }
    int start = 0;
    if (number == 1
        && length >= 3
        && line[0] == (byte) 0xEF
        && line[1] == (byte) 0xBB
        && line[2] == (byte) 0xBF) {
      start = 3;
    }
    if (length - start > maxLineBytes) {
      return new Line(number, null);
    }
    return new Line(number, Arrays.copyOfRange(line, start, length));
  }

  private boolean fill() throws IOException {
    int n = in.read(buffer, 0, buffer.length);
    if (n < 0) {
      eof = true;
      return false;
    }
    pos = 0;
    limit = n;
    return true;
  }
}
