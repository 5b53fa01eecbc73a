package dev.penstock.server.http;

import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.config.GatewayConfig;
import java.util.Map;

/**
 * A gateway in front of the provider simulator, for bad-input tests: limits so high that a valid
 * request is always admitted at once, and a body limit of {@link #MAX_BODY_BYTES}.
 */
final class BadInputGateway implements AutoCloseable {
  static final int MAX_BODY_BYTES = 4096;
  static final String CHAT_MODEL = "gpt-4o-mini";
  static final String EMBEDDING_MODEL = "text-embedding-3-small";
  static final String VALID_CHAT =
      "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
          + "\"max_tokens\":16}";

  final MockServer mock;
  final GatewayServer gateway;

  BadInputGateway() {
    mock =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(LatencyModel.ZERO)
                .outputTokens(4)
                .addKey(KeySpec.of("a", "sk-up-a-000001", 1_000_000, 1_000_000_000))
                .build());
    String deployment =
        """
            deployments:
              - {name: %s, base_url: %s, api_key: sk-up-a-000001, rpm: 1000000, tpm: 1000000000}
        """;
    String yaml =
        "listen: 127.0.0.1:0\ndefaults:\n  max_body_bytes: %d\nmodels:\n  %s:\n%s  %s:\n%s"
            .formatted(
                MAX_BODY_BYTES,
                CHAT_MODEL,
                deployment.formatted("chat", mock.baseUrl()),
                EMBEDDING_MODEL,
                deployment.formatted("emb", mock.baseUrl()));
    GatewayConfig config = new ConfigLoader(Map.<String, String>of()::get).parse(yaml, "test.yaml");
    gateway = GatewayServer.start(config);
  }

  int port() {
    return gateway.port();
  }

  @Override
  public void close() {
    gateway.close();
    mock.close();
  }
}
