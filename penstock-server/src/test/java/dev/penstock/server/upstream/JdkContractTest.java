package dev.penstock.server.upstream;

/** The JDK client over HTTP/2 with TLS. */
class JdkContractTest extends UpstreamClientContract {
  @Override
  protected Transport transport() {
    return Transport.H2;
  }

  @Override
  protected UpstreamClient newClient(UpstreamOptions options) {
    return new JdkUpstreamClient(options);
  }
}
