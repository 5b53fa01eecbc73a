package dev.penstock.server.upstream;

import java.net.InetAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * An upstream for the client contract, the same behaviour over HTTP/1.1 ({@link RawUpstream}) and
 * HTTP/2 ({@link Http2Upstream}). Every answer is to a POST:
 *
 * <ul>
 *   <li>{@code /echo}: 200 with a {@code Content-Length} body listing the request's method, path
 *       and headers (names in lower case), a blank line, then the request's body;
 *   <li>{@code /sse}: a chunked {@code text/event-stream}: {@code data: one}, then — only after
 *       {@link #releaseStreams()} — {@code data: two} and {@code data: [DONE]};
 *   <li>{@code /hang}: reads the request and never answers;
 *   <li>{@code /stall}: the head of a stream and its first event, then silence;
 *   <li>{@code /v1/chat/completions} ({@link RawUpstream} only): a fixed chat completion.
 * </ul>
 *
 * Silences last until the upstream is closed (or 30 s).
 */
abstract class TestUpstream implements AutoCloseable {
  private final Set<SocketAddress> peers = ConcurrentHashMap.newKeySet();
  private final List<InetAddress> locals = new CopyOnWriteArrayList<>();
  private final AtomicInteger requests = new AtomicInteger();

  /**
   * Opened by {@link #releaseStreams()} or {@link #close()}: {@code /sse} streams send the rest.
   */
  protected final CountDownLatch release = new CountDownLatch(1);

  /** The URL of a path, on the address the upstream listens on. */
  abstract URI uri(String path);

  abstract int port();

  /** Counts a request's head, from {@code peer}, arrived at {@code local} (null when unknown). */
  protected final void arrived(SocketAddress peer, @Nullable InetAddress local) {
    peers.add(peer);
    if (local != null) {
      locals.add(local);
    }
    requests.incrementAndGet();
  }

  /** How many connections (distinct client ports) carried requests. */
  final int connections() {
    return peers.size();
  }

  /** How many requests arrived (their heads). */
  final int requests() {
    return requests.get();
  }

  /** The local address each request arrived at, in order. */
  final List<InetAddress> localAddresses() {
    return List.copyOf(locals);
  }

  /** Lets every {@code /sse} stream send its rest. */
  final void releaseStreams() {
    release.countDown();
  }

  @Override
  public abstract void close();
}
