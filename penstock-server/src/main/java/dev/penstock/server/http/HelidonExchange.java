package dev.penstock.server.http;

import dev.penstock.server.openai.ApiError;
import dev.penstock.server.pipeline.ClientExchange;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.RequestException;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Helidon's request and response as the pipeline's {@link ClientExchange}, with the client's
 * connection watched through {@link ClientSockets} where the platform allows.
 */
final class HelidonExchange implements ClientExchange {
  private final ServerRequest req;
  private final ServerResponse res;
  private final long maxBodyBytes;
  private final SlowRequestGuard guard;
  private final @Nullable ConnectionContext connection;
  private volatile ClientSockets.@Nullable Probe probe;
  private volatile boolean probed;
  private boolean unanswered;

  HelidonExchange(
      ServerRequest req, ServerResponse res, long maxBodyBytes, SlowRequestGuard guard) {
    this.req = req;
    this.res = res;
    this.maxBodyBytes = maxBodyBytes;
    this.guard = guard;
    this.connection = ConnectionCapture.current();
  }

  @Override
  public boolean clientClosed() {
    if (!probed) { // made on first use: most requests end before the watch ever looks
      probe = connection == null ? null : ClientSockets.probe(connection);
      probed = true;
    }
    ClientSockets.Probe p = probe;
    return p != null && p.closed();
  }

  @Override
  public void abort() {
    if (connection != null) {
      try {
        connection.serverSocket().close();
      } catch (RuntimeException e) {
        // already closed, or closing failed: the write it should end fails either way
      }
    }
  }

  @Override
  public void leaveUnanswered() {
    unanswered = true;
  }

  /** Whether the pipeline left this request unanswered: its connection is to be closed. */
  boolean leftUnanswered() {
    return unanswered;
  }

  @Override
  public Optional<String> header(String name) {
    return req.headers().first(HeaderNames.create(name));
  }

  /**
   * Reads the body, refusing more than the configured maximum with a {@code 413}, and a body that
   * cannot be read (bad chunked encoding, fewer bytes than its {@code Content-Length}, the client
   * gone) with a {@code 400}.
   */
  @Override
  public byte[] body() {
    long declared = req.headers().contentLength().orElse(-1);
    if (declared > maxBodyBytes) {
      throw tooLarge();
    }
    byte[] body;
    SlowRequestGuard.Clock clock = guard.bodyStarts();
    try (InputStream in = req.content().inputStream()) {
      body = declared >= 0 ? readDeclared(in, (int) declared) : readChunked(in);
    } catch (RequestException e) {
      throw slow(clock)
          ? tooSlow()
          : unreadable(e.status().code() / 100 == 4 ? e.status().code() : 400);
    } catch (IOException | RuntimeException e) {
      // Only the client's bytes are read here, so whatever fails is their framing or their going
      // away (Helidon reports a bad chunk size as a NumberFormatException, a short body as an
      // InsufficientDataAvailableException); it is never a reason for a 500.
      throw slow(clock) ? tooSlow() : unreadable(400);
    } finally {
      guard.bodyEnds(clock);
    }
    if (body.length > maxBodyBytes) {
      throw tooLarge();
    }
    return body;
  }

  private static byte[] readDeclared(InputStream in, int declared) throws IOException {
    // Read exactly what was declared (Helidon sizes its read buffers by the request), then see the
    // end, which tells Helidon the entity is consumed and the connection reusable.
    byte[] body = in.readNBytes(declared);
    if (body.length < declared) {
      throw new IOException("body shorter than its Content-Length");
    }
    in.read();
    return body;
  }

  private byte[] readChunked(InputStream in) throws IOException {
    // One byte more than allowed tells a body at the limit from one above it.
    return in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1));
  }

  private ApiError tooLarge() {
    return new ApiError(
        413,
        "invalid_request_error",
        "The request body is larger than the " + maxBodyBytes + " bytes this gateway accepts.",
        null,
        "request_too_large",
        -1);
  }

  private static boolean slow(SlowRequestGuard.@Nullable Clock clock) {
    return clock != null && clock.bodyTimedOut();
  }

  /** The guard cut a body that did not arrive in time; the connection closes after the 408. */
  private ApiError tooSlow() {
    res.header(HeaderValues.CONNECTION_CLOSE);
    return SlowRequestGuard.requestTimeout("body");
  }

  /** The connection closes after this answer: the rest of the body cannot be framed. */
  private ApiError unreadable(int status) {
    res.header(HeaderValues.CONNECTION_CLOSE);
    return new ApiError(
        status,
        "invalid_request_error",
        "The request body could not be read: its chunked encoding or Content-Length is malformed,"
            + " or it ended early.",
        null,
        "invalid_body",
        -1);
  }

  /**
   * Sends a whole answer. Helidon reports a write to a client that left as its own unchecked {@link
   * CloseConnectionException}; the pipeline's contract is an {@link UncheckedIOException}.
   */
  @Override
  public void send(int status, Map<String, String> headers, byte[] body) {
    res.status(status);
    headers.forEach(res::header);
    try {
      res.send(body);
    } catch (CloseConnectionException e) {
      throw new UncheckedIOException(new IOException("the client left", e));
    }
  }

  @Override
  public OutputStream stream(int status, Map<String, String> headers) throws IOException {
    res.status(status);
    headers.forEach(res::header);
    res.header(HeaderNames.CACHE_CONTROL, "no-cache");
    OutputStream out;
    try {
      out = res.outputStream();
    } catch (CloseConnectionException | UncheckedIOException e) {
      throw new IOException("the client left", e);
    }
    return new ClientStream(out);
  }

  /**
   * The answer's stream, with every way Helidon reports a client that left — its {@link
   * CloseConnectionException}s, an {@link UncheckedIOException} — turned into the {@link
   * IOException} callers of an {@link OutputStream} handle.
   */
  private static final class ClientStream extends OutputStream {
    private final OutputStream out;

    ClientStream(OutputStream out) {
      this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
      try {
        out.write(bytes, offset, length);
      } catch (CloseConnectionException | UncheckedIOException e) {
        throw new IOException("the client left", e);
      }
    }

    @Override
    public void flush() throws IOException {
      try {
        out.flush();
      } catch (CloseConnectionException | UncheckedIOException e) {
        throw new IOException("the client left", e);
      }
    }

    @Override
    public void close() throws IOException {
      try {
        out.close();
      } catch (CloseConnectionException | UncheckedIOException e) {
        throw new IOException("the client left", e);
      }
    }
  }
}
