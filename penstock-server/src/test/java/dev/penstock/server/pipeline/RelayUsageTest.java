package dev.penstock.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.Usage;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** A whole answer is scanned, not built as a tree: its usage is found wherever it stands. */
class RelayUsageTest {
  private static @Nullable JsonNode scan(String body) {
    return Relay.usageOf(body.getBytes(StandardCharsets.UTF_8));
  }

  /** The usage of an answer that must be valid JSON. */
  private static Usage usage(String body) {
    JsonNode node = scan(body);
    assertThat(node == null).as("valid JSON: " + body).isFalse();
    return Usage.of(node);
  }

  @Test
  void findsTheTopLevelUsageAfterNestedObjectsThatHaveTheirOwn() {
    Usage read =
        usage(
            """
            {"id":"c","choices":[{"message":{"content":"hi","usage":{"prompt_tokens":99}}}],
             "usage":{"prompt_tokens":14,"completion_tokens":1,"total_tokens":15,
                      "prompt_tokens_details":{"cached_tokens":4}},"tail":[1,2,{"x":null}]}
            """);
    assertThat(read.promptTokens()).isEqualTo(14);
    assertThat(read.completionTokens()).isEqualTo(1);
    assertThat(read.cachedTokens()).isEqualTo(4);
  }

  @Test
  void anAnswerWithoutUsageIsValidWithUnknownUsage() {
    assertThat(usage("{\"id\":\"c\",\"usage\":null}").known()).isFalse();
    assertThat(usage("{\"id\":\"c\"}").known()).isFalse();
    assertThat(usage("[{\"usage\":{\"prompt_tokens\":3}}]").known()).isFalse();
  }

  @Test
  void duplicateKeysInAnAnswerAreTheUpstreamsAffair() {
    Usage read = usage("{\"a\":1,\"a\":2,\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3}}");
    assertThat(read.completionTokens()).isEqualTo(3);
  }

  @Test
  void truncatedGarbledOrEmptyAnswersAreNotJson() {
    assertThat(scan("") == null).isTrue();
    assertThat(scan("{\"id\":\"c\",\"usage\":{\"prompt_tokens\":1") == null).isTrue();
    assertThat(scan("{\"id\": c}") == null).isTrue();
    assertThat(scan("<html>502 Bad Gateway</html>") == null).isTrue();
  }
}
