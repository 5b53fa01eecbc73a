package dev.penstock.server.upstream;

import dev.penstock.core.CancelSignal;
import java.io.IOException;
import java.net.SocketTimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * Sends calls to upstream deployments. Thread-safe; blocks the calling (virtual) thread.
 *
 * <p>When {@code cancel} fires — the client left — the exchange is aborted at once, whether it
 * waits for the answer's head or its body: the blocked read fails and the connection is closed.
 */
public interface UpstreamClient extends AutoCloseable {
  /**
   * Sends the call and returns once the answer's status and headers arrived. The returned response
   * stays bound to {@code cancel} until it is closed.
   *
   * @throws UnreachableException when no connection could be made: the upstream never saw it
   * @throws TimeoutException when the upstream stayed silent past a timeout of the call
   * @throws IOException when the exchange failed after the request may have been sent
   */
  UpstreamResponse send(UpstreamCall call, CancelSignal cancel)
      throws IOException, InterruptedException;

  /** Like {@link #send(UpstreamCall, CancelSignal)}, for calls no client can abandon. */
  default UpstreamResponse send(UpstreamCall call) throws IOException, InterruptedException {
    return send(call, CancelSignal.NEVER);
  }

  @Override
  void close();

  /** The upstream stayed silent too long, before the first byte of its body or after it. */
  final class TimeoutException extends SocketTimeoutException {
    private static final long serialVersionUID = 1L;
    private final boolean bodyStarted;

    public TimeoutException(boolean bodyStarted) {
      super(
          bodyStarted
              ? "the upstream fell silent past its read timeout"
              : "the upstream sent no answer within its first-byte timeout");
      this.bodyStarted = bodyStarted;
    }

    /** Whether part of the answer's body had arrived (a stalled stream) or none (thinking). */
    public boolean bodyStarted() {
      return bodyStarted;
    }
  }

  /**
   * The call was cancelled (its client left) before its request was wholly written: the upstream
   * cannot have acted on it.
   */
  final class NotSentException extends IOException {
    private static final long serialVersionUID = 1L;

    public NotSentException(String message, @Nullable Throwable cause) {
      super(message, cause);
    }
  }

  /** The upstream could not be reached at all (refused, connect timeout, unknown host). */
  final class UnreachableException extends IOException {
    private static final long serialVersionUID = 1L;

    public UnreachableException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
