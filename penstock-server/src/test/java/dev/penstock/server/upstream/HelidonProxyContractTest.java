package dev.penstock.server.upstream;

/** Helidon's HTTP/1.1 client tunnelling TLS through a CONNECT proxy that wants credentials. */
class HelidonProxyContractTest extends UpstreamClientContract {
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
    return new HelidonUpstreamClient(options);
  }

  /** Helidon cannot abort a request whose answer has not begun (see HelidonUpstreamClient). */
  @Override
  protected boolean abortsWaitForHead() {
    return false;
  }
}
