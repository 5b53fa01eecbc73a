package dev.penstock.server.http;

import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1ConnectionListener;
import org.jspecify.annotations.Nullable;

/**
 * Hands a request's handler the connection it arrived on. Helidon serves each HTTP/1.1 connection
 * on one virtual thread, reads a request's prologue and then runs its handler on that same thread;
 * this listener, told of each prologue, keeps the connection in a thread-local for the handler to
 * pick up ({@link #current}). The handler needs it to watch its client ({@link ClientSockets}) and
 * to close a client that stopped reading.
 */
final class ConnectionCapture implements Http1ConnectionListener {
  private static final ThreadLocal<ConnectionContext> CURRENT = new ThreadLocal<>();

  private final SlowRequestGuard guard;

  /**
   * @param guard told of each request's line and headers too. (It cannot be a second listener:
   *     Helidon 4.5 combines several receive listeners into one that forwards nothing.)
   */
  ConnectionCapture(SlowRequestGuard guard) {
    this.guard = guard;
  }

  @Override
  public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
    CURRENT.set(ctx);
    guard.prologue(ctx);
  }

  @Override
  public void headers(ConnectionContext ctx, Headers headers) {
    guard.headers(ctx);
  }

  /** The connection of the request this thread is serving, or null outside a handler. */
  static @Nullable ConnectionContext current() {
    return CURRENT.get();
  }
}
