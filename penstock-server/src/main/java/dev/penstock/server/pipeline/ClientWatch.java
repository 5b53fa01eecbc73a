package dev.penstock.server.pipeline;

import dev.penstock.core.CancelSignal;
import dev.penstock.core.time.Ticker;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Watches the clients of the requests being served, so that a client that leaves is let go at once:
 * its wait for capacity is withdrawn (no upstream call, no quota spent), its upstream call is
 * closed, its reservation settled.
 *
 * <h2>Design</h2>
 *
 * <p>A request thread is blocked — parked in the queue, or reading the upstream — exactly when its
 * client might leave unnoticed; nothing reads the client's socket then. So one sweeper thread looks
 * at every watched client each period:
 *
 * <ul>
 *   <li>a client whose connection is closed ({@link ClientExchange#clientClosed}: a non-blocking
 *       peek at the socket, the check nginx makes for the same reason) has its call cancelled
 *       ({@code client_closed});
 *   <li>a client whose answer's write has been blocked longer than the write timeout stopped
 *       reading: its connection is closed, so that the blocked write fails, and its call cancelled
 *       ({@code client_stalled}).
 * </ul>
 *
 * <p>Cancelling runs the call's {@link CancelSignal} actions on the sweeper thread: they take the
 * request out of the queue in O(1) or close an upstream socket — quick, never blocking.
 *
 * <p>Thread-safe; watching and unwatching are O(1). Tests drive {@link #sweep} themselves on a fake
 * ticker.
 */
public final class ClientWatch implements AutoCloseable {
  private final Ticker ticker;
  private final LongSupplier writeTimeoutNanos;
  private final Set<Watched> watched = ConcurrentHashMap.newKeySet();
  private final @Nullable Thread sweeper;
  private volatile boolean closed;

  /** One watched client; closing it ends the watch. */
  public final class Watched implements AutoCloseable {
    private final ClientExchange exchange;
    private final CancelSignal cancel;

    private Watched(ClientExchange exchange, CancelSignal cancel) {
      this.exchange = exchange;
      this.cancel = cancel;
    }

    @Override
    public void close() {
      watched.remove(this);
    }
  }

  private ClientWatch(Ticker ticker, LongSupplier writeTimeoutNanos, long periodNanos) {
    this.ticker = ticker;
    this.writeTimeoutNanos = writeTimeoutNanos;
    this.sweeper =
        periodNanos > 0
            ? Thread.ofPlatform()
                .name("penstock-client-watch")
                .daemon()
                .start(() -> sweepEvery(periodNanos))
            : null;
  }

  /** A watch swept every {@code periodNanos} by its own daemon thread. */
  public static ClientWatch start(Ticker ticker, LongSupplier writeTimeoutNanos, long periodNanos) {
    return new ClientWatch(ticker, writeTimeoutNanos, periodNanos);
  }

  /** A watch without a thread: the caller sweeps (tests). */
  public static ClientWatch manual(Ticker ticker, LongSupplier writeTimeoutNanos) {
    return new ClientWatch(ticker, writeTimeoutNanos, 0);
  }

  /** Watches {@code exchange} until the returned handle is closed; cancels {@code cancel}. */
  public Watched watch(ClientExchange exchange, CancelSignal cancel) {
    Watched w = new Watched(exchange, cancel);
    watched.add(w);
    return w;
  }

  /** How many clients are watched now. */
  public int watching() {
    return watched.size();
  }

  /**
   * Cancels every watched call with {@code reason}: a stopping gateway ending what still runs after
   * its grace period. Returns how many it cancelled.
   */
  public int cancelAll(String reason) {
    int cancelled = 0;
    for (Watched w : watched) {
      if (!w.cancel.cancelled()) {
        w.cancel.cancel(reason);
        cancelled++;
      }
    }
    return cancelled;
  }

  /** Looks at every watched client once; cancels the calls of those that left or stalled. */
  public void sweep() {
    long now = ticker.nanos();
    long stall = writeTimeoutNanos.getAsLong();
    for (Watched w : watched) {
      if (w.cancel.cancelled()) {
        continue;
      }
      long since = w.exchange.writeBlockedSinceNanos();
      if (since >= 0 && now - since >= stall) {
        // Cancel first: the abort releases the blocked write at once, and the request thread,
        // finding its call not yet cancelled, would take its client for closed, not stalled.
        w.cancel.cancel("client_stalled");
        w.exchange.abort();
      } else if (w.exchange.clientClosed()) {
        w.cancel.cancel("client_closed");
      }
    }
  }

  private void sweepEvery(long periodNanos) {
    while (!closed) {
      LockSupport.parkNanos(this, periodNanos);
      try {
        sweep();
      } catch (RuntimeException e) {
        // One client's failure must not end the watch of all the others.
        org.slf4j.LoggerFactory.getLogger(ClientWatch.class).warn("client watch failed", e);
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    Thread t = sweeper;
    if (t != null) {
      LockSupport.unpark(t);
      try {
        t.join(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
