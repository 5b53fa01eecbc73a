package dev.penstock.server.upstream;

import java.io.IOException;

/** Sends calls to upstream deployments. Thread-safe; blocks the calling (virtual) thread. */
public interface UpstreamClient extends AutoCloseable {
  /**
   * Sends the call and returns once the answer's status and headers arrived.
   *
   * @throws UnreachableException when no connection could be made: the upstream never saw it
   * @throws IOException when the exchange failed after the request may have been sent
   */
  UpstreamResponse send(UpstreamCall call) throws IOException, InterruptedException;

  @Override
  void close();

  /** The upstream could not be reached at all (refused, connect timeout, unknown host). */
  final class UnreachableException extends IOException {
    private static final long serialVersionUID = 1L;

    public UnreachableException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
