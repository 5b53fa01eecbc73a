package dev.penstock.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SectionFieldsTest {
  @Test
  void theGatewayKnowsBothPartsAndNoFieldIsInBoth() {
    for (SectionFields s :
        List.of(
            SectionFields.TOP,
            SectionFields.DEFAULTS,
            SectionFields.MODEL,
            SectionFields.DEPLOYMENT,
            SectionFields.RETRY)) {
      assertThat(s.all()).hasSize(s.shared().size() + s.gatewayOnly().size());
      assertThat(s.all()).containsAll(s.shared()).containsAll(s.gatewayOnly());
    }
  }

  @Test
  void theLibraryReadsTheSectionsItNeeds() {
    assertThat(SectionFields.TOP.shared())
        .containsExactlyInAnyOrder("defaults", "models", "retry", "circuit_breaker");
    assertThat(SectionFields.TOP.all()).hasSize(18).contains("listen", "upstream", "queues");
    assertThat(SectionFields.DEPLOYMENT.gatewayOnly())
        .containsExactlyInAnyOrder("read_timeout_ms", "health_check_interval_ms");
    assertThat(SectionFields.RETRY.gatewayOnly()).isEmpty();
  }
}
