package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.NioSocket;
import io.helidon.common.socket.PlainSocket;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The client watch's socket peek: available where the tests and the launcher run (Linux), and
 * working under both of Helidon's wrappers of an accepted connection ({@code useNio} on or off).
 */
class ClientSocketsTest {
  @Test
  void closedClientsCanBeToldOnThisPlatform() {
    assertThat(ClientSockets.available()).as(ClientSockets.unavailableReason()).isTrue();
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aClientThatClosesIsToldFromOneThatWaitsOrSendsMore(boolean nio) throws Exception {
    Function<SocketChannel, HelidonSocket> wrap =
        nio
            ? channel -> NioSocket.server(channel, "test", "test")
            : channel -> PlainSocket.server(channel.socket(), "test", "test");
    try (ServerSocketChannel server =
            ServerSocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Socket client = new Socket()) {
      client.connect(server.getLocalAddress());
      try (SocketChannel accepted = server.accept()) {
        ClientSockets.Probe probe = ClientSockets.probe(wrap.apply(accepted));
        assertThat(probe).isNotNull();
        assertThat(probe.closed()).as("a client with nothing to say").isFalse();

        OutputStream out = client.getOutputStream();
        out.write('x');
        out.flush();
        awaitUntil(() -> !probe.closed() && peekable(accepted));
        assertThat(probe.closed()).as("a client sending more").isFalse();
        assertThat(accepted.read(ByteBuffer.allocate(1))).isEqualTo(1); // the peek consumed none

        client.shutdownOutput(); // its FIN
        awaitUntil(probe::closed);
        assertThat(probe.closed()).as("a client that closed").isTrue();
      }
    }
  }

  private static boolean peekable(SocketChannel channel) throws Exception {
    return channel.socket().getInputStream().available() > 0;
  }

  private interface Check {
    boolean holds() throws Exception;
  }

  /** Loopback delivers within microseconds; the bound only keeps a broken run from hanging. */
  private static void awaitUntil(Check check) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (!check.holds()) {
      assertThat(System.nanoTime()).as("condition within 5 s").isLessThan(deadline);
      Thread.onSpinWait();
    }
  }
}
