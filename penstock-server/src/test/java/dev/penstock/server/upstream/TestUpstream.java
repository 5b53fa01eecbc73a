package dev.penstock.server.upstream;

import java.net.InetAddress;
import java.net.URI;
import java.util.List;

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
interface TestUpstream extends AutoCloseable {
  /** The URL of a path, on the address the upstream listens on. */
  URI uri(String path);

  int port();

  /** How many connections (distinct client ports) carried requests. */
  int connections();

  /** How many requests arrived (their heads). */
  int requests();

  /** The local address each request arrived at, in order. */
  List<InetAddress> localAddresses();

  /** Lets every {@code /sse} stream send its rest. */
  void releaseStreams();

  @Override
  void close();
}
