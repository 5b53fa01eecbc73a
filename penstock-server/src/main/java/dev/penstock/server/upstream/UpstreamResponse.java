package dev.penstock.server.upstream;

import java.io.InputStream;
import java.util.Optional;

/**
 * An upstream answer whose status and headers have arrived; its body streams. Closing it before the
 * body is fully read aborts the exchange (the connection is not reused).
 */
public interface UpstreamResponse extends AutoCloseable {
  int status();

  /** A header's first value; names are case-insensitive. */
  Optional<String> header(String name);

  InputStream body();

  @Override
  void close();
}
