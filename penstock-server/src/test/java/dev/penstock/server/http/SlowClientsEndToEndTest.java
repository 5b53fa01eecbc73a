package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.testing.GatewayFixture;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Clients that send their request slowly, over real sockets: a head a byte at a time (Slowloris)
 * was held for seven minutes and more, a body shorter than its Content-Length for 90 s without an
 * answer. Both now end with {@code 408} in OpenAI's shape within their timeouts.
 */
class SlowClientsEndToEndTest {
  private GatewayFixture fixture;

  @AfterEach
  void stop() {
    if (fixture != null) {
      fixture.close();
    }
  }

  private void start() {
    fixture =
        GatewayFixture.start(
            MockConfig.builder()
                .port(0)
                .latency(LatencyModel.ZERO)
                .addKey(KeySpec.of("k", "sk-slow-0001", 1000, 1_000_000))
                .build(),
            """
            listen: 127.0.0.1:0
            defaults: {request_head_timeout_ms: 1000, request_body_timeout_ms: 1000}
            models:
              m:
                deployments:
                  - {name: a, base_url: "${MOCK}", api_key: sk-slow-0001, rpm: 1000, tpm: 1000000}
            """);
  }

  /** Everything the gateway sends until it closes the connection (at most 15 s). */
  private static String readToEnd(Socket socket) throws IOException {
    socket.setSoTimeout(15_000);
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    byte[] buffer = new byte[1024];
    try {
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        all.write(buffer, 0, n);
      }
    } catch (java.net.SocketException reset) {
      // closed with a reset after the answer: what arrived is what counts
    }
    return all.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void aHeadSentAByteAtATimeGetsA408AndTheConnectionCloses() throws Exception {
    start();
    try (Socket client =
        new Socket(java.net.InetAddress.getLoopbackAddress(), fixture.gateway().port())) {
      OutputStream out = client.getOutputStream();
      out.write(
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      long start = System.nanoTime();
      Thread.ofVirtual()
          .start(
              () -> {
                try {
                  for (int i = 0; i < 100; i++) { // the hostile client's pace: 10 bytes a second
                    out.write('x');
                    out.flush();
                    LockSupport.parkNanos(100_000_000);
                  }
                } catch (IOException e) {
                  // the gateway closed the connection, as it should
                }
              });
      String answer = readToEnd(client);
      assertThat(answer).startsWith("HTTP/1.1 408").contains("\"code\":\"request_timeout\"");
      assertThat(System.nanoTime() - start)
          .as("cut long before the drip ends")
          .isLessThan(8_000_000_000L);
    }
  }

  @Test
  void aBodyShorterThanItsContentLengthGetsA408() throws Exception {
    start();
    try (Socket client =
        new Socket(java.net.InetAddress.getLoopbackAddress(), fixture.gateway().port())) {
      client
          .getOutputStream()
          .write(
              ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      + "Content-Length: 500\r\n\r\n{\"model\":\"m\"")
                  .getBytes(StandardCharsets.US_ASCII));
      client.getOutputStream().flush();
      String answer = readToEnd(client);
      assertThat(answer).startsWith("HTTP/1.1 408").contains("\"code\":\"request_timeout\"");
      assertThat(answer).containsIgnoringCase("connection: close");
    }
  }
}
