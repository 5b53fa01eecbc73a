package dev.penstock.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.http.GatewayServer;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway builds its upstream client from {@code upstream:}: an https deployment signed by a
 * private CA is reached through a CONNECT proxy that wants credentials, and is refused without
 * {@code ca_file}.
 */
class UpstreamEgressEndToEndTest {
  @TempDir Path dir;
  private RawUpstream upstream;
  private TunnelProxy proxy;
  private GatewayServer gateway;
  private final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (proxy != null) {
      proxy.close();
    }
    if (upstream != null) {
      upstream.close();
    }
    http.close();
  }

  private HttpResponse<String> chat(String upstreamYaml) throws Exception {
    upstream = RawUpstream.start(TestPki.get().serverContext(), InetAddress.getLoopbackAddress());
    proxy = new TunnelProxy("egress", "pr0xy-pa55");
    String yaml =
        """
        listen: 127.0.0.1:0
        storage: {path: %s}
        upstream:
        %s
        models:
          gpt-4o-mini:
            deployments:
              - {name: tls, base_url: "https://127.0.0.1:%d/v1", api_key: sk-egress-0001, rpm: 1000, tpm: 1000000}
        """
            .formatted(
                dir.resolve("penstock.db"),
                upstreamYaml.formatted(proxy.url("egress", "pr0xy-pa55")).indent(2),
                upstream.port());
    GatewayConfig config = new ConfigLoader(Map.<String, String>of()::get).parse(yaml, "t", dir);
    gateway = GatewayServer.builder(config).start();
    return http.send(
        HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/chat/completions"))
            .timeout(Duration.ofSeconds(20))
            .header("Content-Type", "application/json")
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                        + "\"max_tokens\":8}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aPrivateCaUpstreamIsReachedThroughTheProxy() throws Exception {
    HttpResponse<String> answer =
        chat("ca_file: " + TestPki.get().caPem() + "\nproxy: \"%s\"\nno_proxy: \"\"\n");
    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.body()).contains("Hello over TLS");
    assertThat(proxy.tunnels()).isEqualTo(1);
    assertThat(upstream.requests()).isEqualTo(1);
  }

  @Test
  void withoutTheCaFileTheUpstreamIsUntrustedAndNeverSeesTheRequest() throws Exception {
    HttpResponse<String> answer = chat("proxy: \"%s\"\nno_proxy: \"\"\n");
    assertThat(answer.statusCode()).isBetween(500, 599);
    assertThat(answer.body()).doesNotContain("pr0xy-pa55");
    assertThat(upstream.requests()).isZero();
  }
}
