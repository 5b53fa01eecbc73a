package dev.penstock.server.pipeline;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.Optional;

/**
 * The client's side of one exchange, as the pipeline sees it: the request's headers and body, and a
 * response that is either sent whole or streamed. Exactly one of {@link #send} and {@link #stream}
 * is called, once.
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
}
