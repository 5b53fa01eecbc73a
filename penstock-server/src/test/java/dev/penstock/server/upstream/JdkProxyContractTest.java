package dev.penstock.server.upstream;

/** The JDK client tunnelling TLS (HTTP/1.1) through a CONNECT proxy that wants credentials. */
class JdkProxyContractTest extends UpstreamClientContract {
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
    return new JdkUpstreamClient(options);
  }
}
