package dev.penstock.server.upstream;

import java.net.URI;
import java.time.Duration;
import java.util.Map;

/**
 * One request to an upstream: where, with which headers (credentials included — never log this
 * record), what body, and how long to wait.
 *
 * @param connectTimeout to open the connection (and finish TLS)
 * @param firstByteTimeout how long the upstream may stay silent before the first byte of its
 *     answer's body: the whole thinking time of a non-streamed answer
 * @param idleTimeout how long it may fall silent once the body began (between stream chunks)
 */
@SuppressWarnings("ArrayRecordComponent") // a carrier, never compared: the body is sent as is
public record UpstreamCall(
    URI uri,
    Map<String, String> headers,
    byte[] body,
    Duration connectTimeout,
    Duration firstByteTimeout,
    Duration idleTimeout) {

  @Override
  public String toString() {
    return "UpstreamCall[" + uri + "]";
  }
}
