package dev.penstock.server.http;

import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.testing.GatewayFixture;

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

  final GatewayFixture fixture;
  final GatewayServer gateway;

  BadInputGateway() {
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(LatencyModel.ZERO)
            .outputTokens(4)
            .addKey(KeySpec.of("a", "sk-up-a-000001", 1_000_000, 1_000_000_000))
            .build();
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
                deployment.formatted("chat", "${MOCK}"),
                EMBEDDING_MODEL,
                deployment.formatted("emb", "${MOCK}"));
    // RawHttp half-closes after its request, which the client watch rightly takes for a client
    // that left (nginx does the same): a request still running at its sweep would be dropped.
    // These tests are about reading input, so the watch never sweeps here.
    fixture =
        GatewayFixture.start(simulator, yaml, b -> b.clientWatchPeriod(java.time.Duration.ZERO));
    gateway = fixture.gateway();
  }

  int port() {
    return gateway.port();
  }

  /** Fails if the bad inputs left anything behind (a reservation, a queued request). */
  @Override
  public void close() {
    fixture.close();
  }
}
