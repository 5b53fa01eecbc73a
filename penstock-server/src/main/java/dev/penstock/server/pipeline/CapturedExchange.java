package dev.penstock.server.pipeline;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The client side of a merged embeddings call ({@link EmbeddingBatchStage}): no socket, no headers;
 * its body is the merged request, and the whole answer the upstream stage sends is kept for the
 * members to share. Used by the one thread that runs the merged call.
 */
final class CapturedExchange implements ClientExchange {
  private final byte[] body;
  private int status;
  private byte @Nullable [] answer;

  CapturedExchange(byte[] body) {
    this.body = body;
  }

  @Override
  public Optional<String> header(String name) {
    return Optional.empty();
  }

  @Override
  public byte[] body() {
    return body;
  }

  @Override
  public void send(int status, Map<String, String> headers, byte[] body) {
    this.status = status;
    this.answer = body;
  }

  @Override
  public OutputStream stream(int status, Map<String, String> headers) throws IOException {
    throw new IOException("an embeddings answer is never streamed");
  }

  /** The status the upstream stage answered with; 0 while it answered nothing. */
  int status() {
    return status;
  }

  /** The answer's body; empty while there is none. */
  byte[] answer() {
    byte[] a = answer;
    return a == null ? new byte[0] : a;
  }
}
