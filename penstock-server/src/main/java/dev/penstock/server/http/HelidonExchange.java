package dev.penstock.server.http;

import dev.penstock.server.openai.ApiError;
import dev.penstock.server.pipeline.ClientExchange;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;

/** Helidon's request and response as the pipeline's {@link ClientExchange}. */
final class HelidonExchange implements ClientExchange {
  private final ServerRequest req;
  private final ServerResponse res;
  private final long maxBodyBytes;

  HelidonExchange(ServerRequest req, ServerResponse res, long maxBodyBytes) {
    this.req = req;
    this.res = res;
    this.maxBodyBytes = maxBodyBytes;
  }

  @Override
  public Optional<String> header(String name) {
    return req.headers().first(HeaderNames.create(name));
  }

  /** Reads the body, refusing more than the configured maximum with a {@code 413}. */
  @Override
  public byte[] body() {
    long declared = req.headers().contentLength().orElse(-1);
    if (declared > maxBodyBytes) {
      throw tooLarge();
    }
    try (InputStream in = req.content().inputStream()) {
      if (declared >= 0) {
        // Read exactly what was declared (Helidon sizes its read buffers by the request), then
        // see the end, which tells Helidon the entity is consumed and the connection reusable.
        byte[] body = in.readNBytes((int) declared);
        in.read();
        return body;
      }
      byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1));
      if (body.length > maxBodyBytes) {
        throw tooLarge();
      }
      return body;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
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

  @Override
  public void send(int status, Map<String, String> headers, byte[] body) {
    res.status(status);
    headers.forEach(res::header);
    res.send(body);
  }

  @Override
  public OutputStream stream(int status, Map<String, String> headers) {
    res.status(status);
    headers.forEach(res::header);
    res.header(HeaderNames.CACHE_CONTROL, "no-cache");
    return res.outputStream();
  }
}
