package dev.penstock.server.pipeline;

import dev.penstock.core.time.Ticker;
import dev.penstock.server.telemetry.RequestRecord;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link ClientExchange} that notes in the request's record when the answer's first byte went
 * out, and with what status: the client's time to first token.
 */
final class ObservedExchange implements ClientExchange {
  private final ClientExchange delegate;
  private final RequestRecord record;
  private final Ticker ticker;

  ObservedExchange(ClientExchange delegate, RequestRecord record, Ticker ticker) {
    this.delegate = delegate;
    this.record = record;
    this.ticker = ticker;
  }

  @Override
  public Optional<String> header(String name) {
    return delegate.header(name);
  }

  @Override
  public byte[] body() {
    return delegate.body();
  }

  @Override
  public void send(int status, Map<String, String> headers, byte[] body) {
    record.answered(status, ticker.nanos());
    delegate.send(status, headers, body);
  }

  @Override
  public OutputStream stream(int status, Map<String, String> headers) throws IOException {
    record.answered(status, ticker.nanos());
    return delegate.stream(status, headers);
  }
}
