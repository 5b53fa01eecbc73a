package dev.penstock.server.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class RedactorTest {
  private final Redactor redactor = new Redactor(() -> List.of("azure-key-0123456789", ""));

  @Test
  void removesConfiguredKeysAndKeyShapedText() {
    assertThat(redactor.apply("Access denied for azure-key-0123456789."))
        .isEqualTo("Access denied for [redacted].");
    assertThat(redactor.apply("Incorrect API key provided: sk-pr****abcd. See docs."))
        .isEqualTo("Incorrect API key provided: [redacted]. See docs.");
    assertThat(redactor.apply("virtual key pk-live-XYZ123 revoked"))
        .isEqualTo("virtual key [redacted] revoked");
  }

  @Test
  void leavesOrdinaryMessagesAlone() {
    String message = "The upstream of deployment key-2 answered 503 (task-queue full).";
    assertThat(redactor.apply(message)).isEqualTo(message);
  }
}
