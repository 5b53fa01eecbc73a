package dev.penstock.server.pipeline;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link ClientExchange} that passes everything to another; a wrapper overrides only what it
 * watches or changes (as OkHttp's {@code ForwardingSource}).
 */
abstract class ForwardingExchange implements ClientExchange {
  protected final ClientExchange delegate;

  ForwardingExchange(ClientExchange delegate) {
    this.delegate = delegate;
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
    delegate.send(status, headers, body);
  }

  @Override
  public OutputStream stream(int status, Map<String, String> headers) throws IOException {
    return delegate.stream(status, headers);
  }

  @Override
  public boolean clientClosed() {
    return delegate.clientClosed();
  }

  @Override
  public void abort() {
    delegate.abort();
  }

  @Override
  public void leaveUnanswered() {
    delegate.leaveUnanswered();
  }

  @Override
  public long writeBlockedSinceNanos() {
    return delegate.writeBlockedSinceNanos();
  }
}
