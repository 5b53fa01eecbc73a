package dev.penstock.server.pipeline;

import static dev.penstock.server.config.GatewayConfig.Provider.AZURE;
import static dev.penstock.server.config.GatewayConfig.Provider.OPENAI;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class UpstreamTargetTest {
  /**
   * Azure refuses {@code stream_options} in the api-versions before it knew the field: the gateway
   * asks such a deployment for no usage chunk rather than have every stream refused.
   */
  @Test
  void streamOptionsGoToOpenAiAndToAzureFromItsFirstVersionThatKnowsThem() {
    assertThat(UpstreamTarget.acceptsStreamOptions(OPENAI, "")).isTrue();
    assertThat(UpstreamTarget.acceptsStreamOptions(AZURE, "2024-06-01")).isFalse();
    assertThat(UpstreamTarget.acceptsStreamOptions(AZURE, "2024-08-01-preview")).isFalse();
    assertThat(UpstreamTarget.acceptsStreamOptions(AZURE, "2024-10-21")).isTrue();
    assertThat(UpstreamTarget.acceptsStreamOptions(AZURE, "2025-03-01-preview")).isTrue();
    assertThat(UpstreamTarget.acceptsStreamOptions(AZURE, "preview")).isTrue();
  }
}
