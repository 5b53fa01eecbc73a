package dev.penstock.server.pipeline;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.Optional;

/**
 * The client's side of one exchange, as the pipeline sees it: the request's headers and body, and a
 * response that is either sent whole or streamed. Exactly one of {@link #send} and {@link #stream}
 * is called, once. A write to a client that left fails with an {@code UncheckedIOException} (or an
 * {@code IOException} from the stream).
 *
 * <p>{@link #clientClosed} and {@link #abort} may be called from another thread (the {@link
 * ClientWatch}); everything else from the request's own.
 */
public interface ClientExchange {
  /** A request header's first value; names are case-insensitive. */
  Optional<String> header(String name);

  byte[] body();

  /** Sends a complete answer. */
  void send(int status, Map<String, String> headers, byte[] body);

  /**
   * Starts a streamed answer: status and headers go out now, then whatever is written to the
   * returned stream, each {@code flush()} reaching the client at once.
   */
  OutputStream stream(int status, Map<String, String> headers) throws IOException;

  /**
   * Whether the client is known to have closed its connection: a cheap check that neither blocks
   * nor consumes anything. False when it cannot be told.
   */
  default boolean clientClosed() {
    return false;
  }

  /** Closes the client's connection now, so that a write blocked on it fails. */
  default void abort() {}

  /**
   * The request ends without an answer, or with part of one: its client left (or stopped reading).
   * The connection is to be closed rather than answered; called once, by the request's own thread.
   */
  default void leaveUnanswered() {}

  /**
   * Since when (ticker nanos) a write to the client has been blocked, or -1 while none is: a client
   * that stopped reading shows here.
   */
  default long writeBlockedSinceNanos() {
    return -1;
  }
}
