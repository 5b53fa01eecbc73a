package dev.penstock.server.upstream;

import java.net.URI;
import java.time.Duration;
import java.util.Map;

/**
 * One request to an upstream: where, with which headers (credentials included — never log this
 * record), what body, and how long to wait to connect and for the answer to begin.
 */
public record UpstreamCall(
    URI uri,
    Map<String, String> headers,
    byte[] body,
    Duration connectTimeout,
    Duration readTimeout) {

  @Override
  public String toString() {
    return "UpstreamCall[" + uri + "]";
  }
}
