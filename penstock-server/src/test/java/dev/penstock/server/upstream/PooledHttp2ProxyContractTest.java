package dev.penstock.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The pooled client through a CONNECT proxy with credentials to an upstream that selects {@code
 * h2}: both the handshake that learns it and the JDK's HTTP/2 connection go through the proxy.
 */
class PooledHttp2ProxyContractTest extends UpstreamClientContract {
  @Override
  protected Transport transport() {
    return Transport.H2;
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
  protected int tunnelsForOneConnection() {
    return 2;
  }

  @Test
  void theHttp2ConnectionIsTunnelledToo() throws Exception {
    for (int i = 0; i < 3; i++) {
      assertThat(readAll(client.send(call("/echo")))).contains("path=/echo");
    }
    assertThat(((PooledHttp1Client) client).protocol(upstream.uri("/echo"))).hasValue("h2");
    TunnelProxy p = java.util.Objects.requireNonNull(proxy);
    assertThat(p.tunnels()).as("the learning handshake's and the HTTP/2 connection's").isEqualTo(2);
  }
}
