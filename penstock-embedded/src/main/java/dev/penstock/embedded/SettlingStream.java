package dev.penstock.embedded;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

/**
 * The body of a streamed (SSE) answer as the caller reads it. It taps the events for the stream's
 * usage and, when the stream ends, tells its owner how exactly once: read to its end ({@link
 * End#COMPLETED}), broken by the upstream ({@link End#BROKE}), or closed by its reader before the
 * end, or abandoned by a closing Penstock ({@link End#LEFT}). Its owner settles the reservation
 * then — the reservation is held for as long as the stream is open.
 *
 * <p>Read by one thread at a time (like any InputStream); {@link #abandon} may come from another,
 * and whichever end comes first wins.
 */
final class SettlingStream extends InputStream {
  /** How a stream ended. */
  enum End {
    COMPLETED,
    BROKE,
    LEFT
  }

  /** Longest SSE line inspected for usage; longer lines are passed on, not parsed. */
  private static final int MAX_LINE = 1 << 20;

  private final InputStream upstream;
  private final BiConsumer<End, Usage> owner;
  private final AtomicBoolean ended = new AtomicBoolean();
  private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);
  private boolean lineTooLong;
  private volatile Usage usage = Usage.UNKNOWN;

  SettlingStream(InputStream upstream, BiConsumer<End, Usage> owner) {
    this.upstream = upstream;
    this.owner = owner;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] buffer, int offset, int length) throws IOException {
    int n;
    try {
      n = upstream.read(buffer, offset, length);
    } catch (IOException e) {
      end(End.BROKE);
      throw e;
    }
    if (n < 0) {
      end(End.COMPLETED);
    } else {
      tap(buffer, offset, n);
    }
    return n;
  }

  @Override
  public void close() throws IOException {
    try {
      upstream.close();
    } finally {
      end(End.LEFT); // a no-op after the end was read
    }
  }

  /** Penstock closes: ends the stream for its reader, who gets an IOException at its next read. */
  void abandon() {
    end(End.LEFT);
    try {
      upstream.close();
    } catch (IOException e) {
      // the connection is being torn down anyway
    }
  }

  private void end(End how) {
    if (ended.compareAndSet(false, true)) {
      owner.accept(how, usage);
    }
  }

  /** Collects lines; a {@code data:} line that mentions usage is parsed for it. */
  private void tap(byte[] buffer, int offset, int n) {
    for (int i = offset; i < offset + n; i++) {
      byte b = buffer[i];
      if (b == '\n' || b == '\r') {
        if (!lineTooLong && line.size() > 0) {
          inspect(line.toString(StandardCharsets.UTF_8));
        }
        line.reset();
        lineTooLong = false;
      } else if (line.size() < MAX_LINE) {
        line.write(b);
      } else {
        lineTooLong = true;
      }
    }
  }

  private void inspect(String text) {
    if (!text.startsWith("data:") || !text.contains("\"usage\"")) {
      return;
    }
    try {
      Usage seen = Usage.of(RequestPeek.JSON.readTree(text.substring(5).trim()));
      if (seen.known()) {
        usage = seen;
      }
    } catch (IOException | RuntimeException e) {
      // not JSON: nothing to learn from it
    }
  }
}
