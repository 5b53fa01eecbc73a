package dev.penstock.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The pooled client against an upstream that selects {@code h2} by ALPN: the route is remembered as
 * HTTP/2 and its calls go to the JDK's HTTP/2 client, which resolves the host itself (so the
 * resolver cases do not apply).
 */
class PooledHttp2ContractTest extends UpstreamClientContract {
  @Override
  protected Transport transport() {
    return Transport.H2;
  }

  @Override
  protected UpstreamClient newClient(UpstreamOptions options) {
    return new PooledHttp1Client(options);
  }

  @Test
  void theRouteIsRememberedAsHttp2AfterOneWastedHandshake() throws Exception {
    PooledHttp1Client pooled = (PooledHttp1Client) client;
    assertThat(pooled.protocol(upstream.uri("/echo"))).isEmpty();
    for (int i = 0; i < 3; i++) {
      assertThat(readAll(client.send(call("/echo")))).contains("path=/echo");
    }
    assertThat(pooled.protocol(upstream.uri("/echo"))).hasValue("h2");
    assertThat(pooled.connectionsOpened()).as("the one handshake that learnt h2").isEqualTo(1);
    assertThat(upstream.connections()).as("the HTTP/2 connection, shared").isEqualTo(1);
  }

  @Test
  void withHttp2OffTheRouteStaysOnHttp1() throws Exception {
    PooledHttp1Client h1 =
        closeLater(new PooledHttp1Client(options(PROXY_PASSWORD).withHttp2(false)));
    for (int i = 0; i < 3; i++) {
      assertThat(readAll(h1.send(call("/echo")))).contains("path=/echo");
    }
    assertThat(h1.protocol(upstream.uri("/echo"))).hasValue("http/1.1");
    assertThat(h1.connectionsOpened()).isEqualTo(1);
  }
}
