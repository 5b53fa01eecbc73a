package dev.penstock.server.http;

import dev.penstock.server.openai.ApiError;
import dev.penstock.server.pipeline.ErrorResponses;
import io.helidon.common.buffers.BufferData;
import io.helidon.webserver.ConnectionContext;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds the time a client may take to send a request: its head (request line and headers) and its
 * body. A socket read has a timeout per read, so a client that sends a byte a second (Slowloris)
 * would otherwise hold a connection and a thread for as long as it likes — seven minutes and more
 * were seen, and bodies sent slowly or short were held 90 s without an answer.
 *
 * <h2>How</h2>
 *
 * <p>Helidon tells this listener of every byte read on a connection and of each request's head, on
 * the connection's own thread. The first bytes of a request start its head clock; its parsed
 * headers stop it. {@link HelidonExchange} starts and stops the body clock around its read. One
 * daemon thread sweeps the clocks every 200 ms: a head past {@code request_head_timeout_ms} gets
 * {@code 408} in OpenAI's shape written to the socket, and the connection is closed; a body past
 * {@code request_body_timeout_ms} has its connection's input shut, so that the blocked read ends
 * and the handler answers {@code 408} itself.
 *
 * <p>Thread-safe: each connection's clock is written by its own thread and read by the sweeper.
 */
final class SlowRequestGuard implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SlowRequestGuard.class);
  private static final long SWEEP_NANOS = 200_000_000L;

  /** One connection's clocks; lives in its thread (one HTTP/1.1 connection, one thread). */
  static final class Clock {
    final ConnectionContext connection;
    volatile long headSince = -1;
    volatile long bodySince = -1;
    volatile boolean bodyTimedOut;

    Clock(ConnectionContext connection) {
      this.connection = connection;
    }

    /** Whether the guard cut this request's body short (then the answer is a 408). */
    boolean bodyTimedOut() {
      return bodyTimedOut;
    }
  }

  private static final ThreadLocal<Clock> CLOCK = new ThreadLocal<>();

  private final LongSupplier headTimeoutNanos;
  private final LongSupplier bodyTimeoutNanos;
  private final Set<Clock> running = ConcurrentHashMap.newKeySet();
  private final Thread sweeper;
  private volatile boolean closed;

  SlowRequestGuard(LongSupplier headTimeoutNanos, LongSupplier bodyTimeoutNanos) {
    this.headTimeoutNanos = headTimeoutNanos;
    this.bodyTimeoutNanos = bodyTimeoutNanos;
    this.sweeper =
        Thread.ofPlatform().name("penstock-slow-request-guard").daemon().start(this::sweepEvery);
  }

  @SuppressWarnings("ReferenceEquality") // the same connection, not an equal one
  private static Clock clock(ConnectionContext ctx) {
    Clock clock = CLOCK.get();
    if (clock == null || clock.connection != ctx) {
      clock = new Clock(ctx);
      CLOCK.set(clock);
    }
    return clock;
  }

  /** A request line arrived: the clock of its head starts (its headers stop it). */
  void prologue(ConnectionContext ctx) {
    Clock clock = clock(ctx);
    clock.headSince = System.nanoTime();
    running.add(clock);
  }

  /** The request's headers arrived: its head is complete. */
  void headers(ConnectionContext ctx) {
    Clock clock = clock(ctx);
    clock.headSince = -1;
    if (clock.bodySince < 0) {
      running.remove(clock);
    }
  }

  /** The handler starts reading the body of the request this thread serves. */
  @Nullable Clock bodyStarts() {
    Clock clock = CLOCK.get();
    if (clock != null) {
      clock.bodyTimedOut = false;
      clock.bodySince = System.nanoTime();
      running.add(clock);
    }
    return clock;
  }

  /** The body was read (or its read failed). */
  void bodyEnds(@Nullable Clock clock) {
    if (clock != null) {
      clock.bodySince = -1;
      running.remove(clock);
    }
  }

  /** Cuts the heads and bodies that took too long. */
  void sweep() {
    long now = System.nanoTime();
    for (java.util.Iterator<Clock> it = running.iterator(); it.hasNext(); ) {
      Clock clock = it.next();
      long head = clock.headSince;
      long body = clock.bodySince;
      if (head >= 0 && now - head > headTimeoutNanos.getAsLong()) {
        it.remove(); // a concurrent set: removal while iterating is safe
        clock.headSince = -1;
        timeOutHead(clock.connection);
      } else if (body >= 0 && now - body > bodyTimeoutNanos.getAsLong()) {
        it.remove();
        clock.bodyTimedOut = true;
        ClientSockets.shutdownInput(clock.connection);
      }
    }
  }

  /** Nobody reads the answer of a request that never arrived: written here, then closed. */
  private static void timeOutHead(ConnectionContext connection) {
    byte[] body = ErrorResponses.body(requestTimeout("head"));
    String head =
        "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: "
            + body.length
            + "\r\nConnection: close\r\n\r\n";
    try {
      byte[] head8 = head.getBytes(StandardCharsets.US_ASCII);
      byte[] all = new byte[head8.length + body.length];
      System.arraycopy(head8, 0, all, 0, head8.length);
      System.arraycopy(body, 0, all, head8.length, body.length);
      connection.serverSocket().write(BufferData.create(all));
    } catch (RuntimeException e) {
      // the client is gone already; closing is what matters
    }
    try {
      connection.serverSocket().close();
    } catch (RuntimeException e) {
      // already closed
    }
  }

  /** The {@code 408} a slow request gets, in OpenAI's shape. */
  static ApiError requestTimeout(String part) {
    return new ApiError(
        408,
        "invalid_request_error",
        "The request's " + part + " did not arrive in time.",
        null,
        "request_timeout",
        -1);
  }

  private void sweepEvery() {
    while (!closed) {
      LockSupport.parkNanos(this, SWEEP_NANOS);
      try {
        sweep();
      } catch (RuntimeException e) {
        LOG.warn("slow-request guard failed", e);
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    LockSupport.unpark(sweeper);
  }
}
