package dev.penstock.server.pipeline;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;

/**
 * The client's side with a tap: whatever a {@code 200} answer sends — the whole body, or a stream's
 * bytes as they go out — is kept too, up to a bound, and handed to {@link Completed} the moment it
 * is complete, <em>before</em> the client can see its end (a whole answer before it is sent, a
 * stream before it is closed): a client that repeats its request as soon as it has the answer finds
 * it stored. Everything else passes through unchanged; an answer over the bound is relayed but not
 * kept.
 */
final class CapturingExchange extends ForwardingExchange {
  private final int maxBytes;
  private final ByteArrayOutputStream kept = new ByteArrayOutputStream(1024);
  private int status;
  private boolean streamed;
  private boolean overflowed;
  private final Completed completed;

  /** Receives a complete {@code 200} answer's bytes; must not throw. */
  @FunctionalInterface
  interface Completed {
    /**
     * Takes the answer.
     *
     * @param streamed whether they are a stream's SSE bytes rather than a whole answer
     */
    void answer(byte[] bytes, boolean streamed);
  }

  CapturingExchange(ClientExchange delegate, long maxBytes, Completed completed) {
    super(delegate);
    this.maxBytes = (int) Math.min(Integer.MAX_VALUE - 8, maxBytes);
    this.completed = completed;
  }

  /** Hands the kept answer over, once, when it was a {@code 200} within the bound. */
  private void complete() {
    if (status == 200 && !overflowed) {
      overflowed = true; // once
      completed.answer(kept.toByteArray(), streamed);
    }
  }

  private void keep(byte[] bytes, int offset, int length) {
    if (status != 200 || overflowed) {
      return;
    }
    if (kept.size() + (long) length > maxBytes) {
      overflowed = true;
      kept.reset();
      return;
    }
    kept.write(bytes, offset, length);
  }

  @Override
  public void send(int status, Map<String, String> headers, byte[] body) {
    this.status = status;
    keep(body, 0, body.length);
    complete();
    delegate.send(status, headers, body);
  }

  @Override
  public OutputStream stream(int status, Map<String, String> headers) throws IOException {
    this.status = status;
    this.streamed = true;
    OutputStream out = delegate.stream(status, headers);
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        out.write(b);
        keep(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] bytes, int offset, int length) throws IOException {
        out.write(bytes, offset, length);
        keep(bytes, offset, length);
      }

      @Override
      public void flush() throws IOException {
        out.flush();
      }

      @Override
      public void close() throws IOException {
        complete(); // the stream's last event was written; the client sees its end at close
        out.close();
      }
    };
  }
}
