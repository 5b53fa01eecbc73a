package dev.penstock.server.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.server.openai.Endpoint;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class CachedAnswerTest {
  private static final byte[] BODY =
      "{\"id\":\"x\",\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}"
          .getBytes(StandardCharsets.UTF_8);

  @Test
  void theWireFormRoundTrips() {
    CachedAnswer answer = new CachedAnswer(Endpoint.CHAT, BODY, "dep-a", "gpt-x", 1234);
    CachedAnswer back = CachedAnswer.decode(answer.encode());
    assertThat(back.endpoint()).isEqualTo(Endpoint.CHAT);
    assertThat(back.body()).isEqualTo(BODY);
    assertThat(back.deployment()).isEqualTo("dep-a");
    assertThat(back.upstreamModel()).isEqualTo("gpt-x");
    assertThat(back.storedAtMillis()).isEqualTo(1234);
    assertThat(back.usage().promptTokens()).isEqualTo(7);
    assertThat(back.usage().completionTokens()).isEqualTo(3);
  }

  @Test
  void anythingElseIsRefusedNeverServed() {
    byte[] good = new CachedAnswer(Endpoint.CHAT, BODY, "d", "m", 1).encode();
    byte[][] junk = {
      new byte[0],
      "junk".getBytes(StandardCharsets.UTF_8),
      "PSC1".getBytes(StandardCharsets.UTF_8),
      Arrays.copyOf(good, good.length - 5), // truncated: the body is not whole JSON
      Arrays.copyOf(good, 12), // the header cut short
      "PSC1\u0000\u0000\u0000\u0002{}[1,2]".getBytes(StandardCharsets.UTF_8), // not an object
      "PSC1\u0000\u0000\u0000\u0013{\"endpoint\":\"NOPE\"}{}".getBytes(StandardCharsets.UTF_8),
      "PSC1\u007f\u0000\u0000\u0000{}".getBytes(StandardCharsets.UTF_8),
    };
    for (byte[] bytes : junk) {
      assertThatThrownBy(() -> CachedAnswer.decode(bytes))
          .as(new String(bytes, StandardCharsets.ISO_8859_1))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
