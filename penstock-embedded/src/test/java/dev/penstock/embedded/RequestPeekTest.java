package dev.penstock.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RequestPeekTest {
  private static RequestPeek read(String json, String path) {
    return RequestPeek.read(
        json.getBytes(StandardCharsets.UTF_8), path, 256, TokenCounter.CHARACTERS);
  }

  @Test
  void chargesThePromptAtFourCharactersATokenPlusTheOutputCap() {
    RequestPeek peek =
        read(
            """
            {"model":"gpt-4o-mini","stream":true,"max_completion_tokens":100,
             "messages":[{"role":"user","content":"abcdefgh"},
                         {"role":"user","content":[{"type":"text","text":"abcd"},
                                                   {"type":"image_url","image_url":{"url":"data:..."}}]}]}
            """,
            "chat/completions");
    assertThat(peek.model()).isEqualTo("gpt-4o-mini");
    assertThat(peek.stream()).isTrue();
    assertThat(peek.outputTokens()).isEqualTo(100);
    // roles 1 + 1, "abcdefgh" 2, "abcd" 1, the image 85, 3 per message, 3 to prime the reply
    assertThat(peek.promptTokens()).isEqualTo(1 + 2 + 3 + 1 + 1 + 85 + 3 + 3);
  }

  @Test
  void aRequestWithoutACapIsChargedTheDefaultAndEmbeddingsNone() {
    assertThat(read("{\"model\":\"m\",\"input\":\"abcd\"}", "responses").outputTokens())
        .isEqualTo(256);
    RequestPeek embedding = read("{\"model\":\"e\",\"input\":[\"abcd\",\"efgh\"]}", "embeddings");
    assertThat(embedding.outputTokens()).isZero();
    assertThat(embedding.promptTokens()).isEqualTo(2);
  }

  @Test
  void theModelIsRewrittenOnlyForADeploymentThatKnowsItByAnotherName() {
    byte[] body = "{\"model\":\"public\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);
    RequestPeek peek = RequestPeek.read(body, "chat/completions", 256, TokenCounter.CHARACTERS);
    assertThat(peek.bodyFor("public", body)).isSameAs(body);
    assertThat(new String(peek.bodyFor("gpt-4o", body), StandardCharsets.UTF_8))
        .isEqualTo("{\"model\":\"gpt-4o\",\"messages\":[]}");
  }

  @Test
  void aBodyThatNamesNoModelIsRefusedWithAClientMessage() {
    assertThatThrownBy(() -> read("not json", "chat/completions"))
        .hasMessage("The request body is not valid JSON.");
    assertThatThrownBy(() -> read("[1]", "chat/completions"))
        .hasMessage("The request body must be a JSON object.");
    assertThatThrownBy(() -> read("{\"model\":3}", "chat/completions"))
        .hasMessageContaining("names no model");
  }
}
