package dev.penstock.server.upstream;

/** The pooled client over plain HTTP/1.1. */
class PooledPlainContractTest extends UpstreamClientContract {
  @Override
  protected Transport transport() {
    return Transport.PLAIN;
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
