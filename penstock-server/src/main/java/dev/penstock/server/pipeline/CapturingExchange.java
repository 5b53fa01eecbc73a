package dev.penstock.server.pipeline;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The client's side with a tap: whatever a {@code 200} answer sends — the whole body, or a stream's
 * bytes as they go out — is kept too, up to a bound, for the response cache to store. Everything
 * else passes through unchanged; an answer over the bound is relayed whole but not kept.
 */
final class CapturingExchange extends ForwardingExchange {
  private final int maxBytes;
  private final ByteArrayOutputStream kept = new ByteArrayOutputStream(1024);
  private int status;
  private boolean streamed;
  private boolean overflowed;

  CapturingExchange(ClientExchange delegate, long maxBytes) {
    super(delegate);
    this.maxBytes = (int) Math.min(Integer.MAX_VALUE - 8, maxBytes);
  }

  /** The answer's bytes when it was a {@code 200} within the bound, else null. */
  byte @Nullable [] captured() {
    return status == 200 && !overflowed ? kept.toByteArray() : null;
  }

  /** Whether the answer was streamed (SSE) rather than sent whole. */
  boolean streamed() {
    return streamed;
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
    delegate.send(status, headers, body);
    keep(body, 0, body.length); // only once it went out: a send that failed is no answer
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
        out.close();
      }
    };
  }
}
