package dev.penstock.server.upstream;

/** The pooled client tunnelling TLS through a CONNECT proxy that wants credentials. */
class PooledProxyContractTest extends UpstreamClientContract {
  @Override
  protected Transport transport() {
    return Transport.TLS;
  }

  @Override
  protected boolean viaProxy() {
    return true;
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
