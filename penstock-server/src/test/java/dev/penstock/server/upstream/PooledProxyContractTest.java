package dev.penstock.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

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

  /** A proxy that accepts and never answers the CONNECT: the connect timeout bounds the wait. */
  @Test
  void aSilentProxyIsUnreachableWithinTheConnectTimeout() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
      Thread.ofVirtual()
          .start(
              () -> {
                try (Socket held = silent.accept()) {
                  held.getInputStream().readAllBytes(); // until the client gives up
                } catch (java.io.IOException e) {
                  // closed with the test
                }
              });
      UpstreamOptions options =
          UpstreamOptions.of(
              TestPki.get().caPem(),
              "http://127.0.0.1:" + silent.getLocalPort(),
              "",
              true,
              name -> null);
      UpstreamClient silentProxied = closeLater(newClient(options));
      long start = System.nanoTime();
      assertThatThrownBy(() -> silentProxied.send(call("/echo"))) // connect timeout: 2 s
          .isInstanceOf(UpstreamClient.UnreachableException.class)
          .hasMessageContaining("did not open a tunnel");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
    }
  }
}
