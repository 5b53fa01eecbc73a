package dev.penstock.server.http;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * A streaming reader of a {@code multipart/form-data} body (RFC 7578): parts one after the other,
 * each part's content an {@link InputStream} that ends at the next boundary, so that a 200 MB file
 * goes to disk through a 64 KB buffer. Binary content is passed through untouched; only the
 * delimiter {@code CRLF--boundary} ends a part.
 *
 * <p>Not thread-safe: one request's reader on its thread.
 */
final class MultipartReader {
  /** The body is not well-formed multipart. */
  static final class MalformedException extends IOException {
    private static final long serialVersionUID = 1L;

    MalformedException(String message) {
      super(message);
    }
  }

  /** One part: its form field's name, its file name if any, and its content. */
  record Part(String name, @Nullable String filename, InputStream content) {}

  private static final int MAX_HEADER_BYTES = 16 * 1024;

  private final InputStream in;

  /** {@code CRLF--boundary}; the body is read as if it began with a CRLF. */
  private final byte[] delimiter;

  private final byte[] buffer;
  private int pos;
  private int limit;
  private boolean eof;
  private boolean finished;
  private boolean started;
  private @Nullable PartStream current;

  MultipartReader(InputStream in, String boundary) {
    this.in = in;
    this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    this.buffer = new byte[Math.max(64 * 1024, delimiter.length * 4)];
    buffer[0] = '\r';
    buffer[1] = '\n';
    limit = 2;
  }

  /**
   * The boundary of a {@code Content-Type: multipart/form-data; boundary=...} header; null when it
   * is not one.
   */
  static @Nullable String boundary(String contentType) {
    String[] parts = contentType.split(";", -1);
    if (!parts[0].trim().toLowerCase(Locale.ROOT).equals("multipart/form-data")) {
      return null;
    }
    for (int i = 1; i < parts.length; i++) {
      String p = parts[i].trim();
      int eq = p.indexOf('=');
      if (eq > 0 && p.substring(0, eq).trim().equalsIgnoreCase("boundary")) {
        String value = unquote(p.substring(eq + 1).trim());
        return value.isEmpty() || value.length() > 200 ? null : value;
      }
    }
    return null;
  }

  /** The next part (the one before is skipped if unread), or null after the last. */
  @Nullable Part next() throws IOException {
    if (current != null) {
      current.skipRest();
      current = null;
    } else if (!started) {
      skipPreamble();
    }
    started = true;
    if (finished) {
      return null;
    }
    // After a delimiter: "--" ends the body; else optional whitespace and CRLF, then headers.
    if (!ensure(2)) {
      throw new MalformedException("the body ends after a boundary");
    }
    if (buffer[pos] == '-' && buffer[pos + 1] == '-') {
      finished = true;
      return null;
    }
    String headers = readHeaders();
    String name = null;
    String filename = null;
    for (String line : headers.split("\r\n", -1)) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-disposition")) {
        for (String param : line.substring(colon + 1).split(";", -1)) {
          int eq = param.indexOf('=');
          if (eq < 0) {
            continue;
          }
          String key = param.substring(0, eq).trim().toLowerCase(Locale.ROOT);
          String value = unquote(param.substring(eq + 1).trim());
          if (key.equals("name")) {
            name = value;
          } else if (key.equals("filename")) {
            filename = value;
          }
        }
      }
    }
    if (name == null) {
      throw new MalformedException("a part has no Content-Disposition name");
    }
    PartStream stream = new PartStream();
    current = stream;
    return new Part(name, filename, stream);
  }

  private void skipPreamble() throws IOException {
    // The content before the first delimiter is ignored (RFC 2046); PartStream finds it.
    PartStream preamble = new PartStream();
    preamble.skipRest();
  }

  /** Reads the part's header lines, after the delimiter's own line end, up to the blank line. */
  private String readHeaders() throws IOException {
    // The rest of the delimiter's line: transport padding (spaces, tabs), then CRLF.
    while (true) {
      if (!ensure(1)) {
        throw new MalformedException("the body ends inside a boundary line");
      }
      byte b = buffer[pos];
      if (b == ' ' || b == '\t') {
        pos++;
        continue;
      }
      break;
    }
    if (!ensure(2) || buffer[pos] != '\r' || buffer[pos + 1] != '\n') {
      throw new MalformedException("a boundary is not followed by a line end");
    }
    pos += 2;
    StringBuilder headers = new StringBuilder();
    int read = 0;
    while (true) {
      if (!ensure(2)) {
        throw new MalformedException("the body ends inside a part's headers");
      }
      if (buffer[pos] == '\r' && buffer[pos + 1] == '\n') {
        pos += 2;
        if (headers.length() == 0 || endsWithCrlf(headers)) {
          return headers.toString();
        }
        headers.append("\r\n");
        continue;
      }
      headers.append((char) (buffer[pos] & 0xff));
      pos++;
      if (++read > MAX_HEADER_BYTES) {
        throw new MalformedException("a part's headers are larger than " + MAX_HEADER_BYTES);
      }
    }
  }

  private static boolean endsWithCrlf(StringBuilder s) {
    int n = s.length();
    return n >= 2 && s.charAt(n - 2) == '\r' && s.charAt(n - 1) == '\n';
  }

  /** Makes at least {@code n} bytes available from {@code pos}; false at the end of the body. */
  private boolean ensure(int n) throws IOException {
    while (limit - pos < n) {
      if (eof) {
        return false;
      }
      if (pos > 0) {
        System.arraycopy(buffer, pos, buffer, 0, limit - pos);
        limit -= pos;
        pos = 0;
      }
      int read = in.read(buffer, limit, buffer.length - limit);
      if (read < 0) {
        eof = true;
      } else {
        limit += read;
      }
    }
    return true;
  }

  /** Where the delimiter starts in the buffer's data, or -1. */
  private int findDelimiter() {
    int last = limit - delimiter.length;
    outer:
    for (int i = pos; i <= last; i++) {
      if (buffer[i] != '\r') {
        continue;
      }
      for (int j = 1; j < delimiter.length; j++) {
        if (buffer[i + j] != delimiter[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** A part's content: ends where the delimiter starts, which it consumes. */
  private final class PartStream extends InputStream {
    private boolean ended;

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (ended) {
        return -1;
      }
      if (len == 0) {
        return 0;
      }
      if (!ensure(delimiter.length)) {
        // Fewer bytes left than a delimiter: the closing one is missing.
        throw new MalformedException("the body ends before its closing boundary");
      }
      int at = findDelimiter();
      int available;
      if (at == pos) {
        pos += delimiter.length;
        ended = true;
        return -1;
      } else if (at > pos) {
        available = at - pos;
      } else {
        // The last delimiter.length - 1 bytes may begin a delimiter: keep them for the next read.
        available = limit - pos - (delimiter.length - 1);
      }
      int n = Math.min(len, available);
      System.arraycopy(buffer, pos, b, off, n);
      pos += n;
      return n;
    }

    void skipRest() throws IOException {
      byte[] skip = new byte[8192];
      while (read(skip, 0, skip.length) >= 0) {
        // discarded
      }
    }
  }

  private static String unquote(String s) {
    if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) {
      return s.substring(1, s.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
    }
    return s;
  }
}
