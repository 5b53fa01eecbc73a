package dev.penstock.server.upstream;

/** The pooled client over TLS (ALPN http/1.1), trusting the test CA by upstream.ca_file. */
class PooledTlsContractTest extends UpstreamClientContract {
  @Override
  protected Transport transport() {
    return Transport.TLS;
  }

  @Override
  protected UpstreamClient newClient(UpstreamOptions options) {
    return new PooledHttp1Client(options);
  }

  @Override
  protected java.util.OptionalInt connectionsOpened(UpstreamClient client) {
    return java.util.OptionalInt.of(((PooledHttp1Client) client).connectionsOpened());
  }

  @Override
  protected boolean usesResolver() {
    return true;
  }
}
