package dev.penstock.server.upstream;

/** Helidon's HTTP/1.1 client over TLS, trusting the test CA by upstream.ca_file. */
class HelidonTlsContractTest extends UpstreamClientContract {
  @Override
  protected Transport transport() {
    return Transport.TLS;
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
