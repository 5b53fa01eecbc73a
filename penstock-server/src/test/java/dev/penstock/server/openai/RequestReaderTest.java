package dev.penstock.server.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RequestReaderTest {
  private final RequestReader reader = new RequestReader(new TokenEstimator(), 256);

  private OpenAiRequest read(Endpoint endpoint, String json) {
    return reader.read(endpoint, json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void chatEstimateIsPromptInChatFormatPlusTheOutputCapTimesN() {
    OpenAiRequest request =
        read(
            Endpoint.CHAT,
            """
            {"model": "gpt-4o-mini", "stream": true, "n": 2, "max_completion_tokens": 100,
             "messages": [{"role": "system", "content": "Be brief."},
                          {"role": "user", "content": [{"type": "text", "text": "Hello there"}]}]}
            """);
    // 3 priming + (3 + "system" 1 + "Be brief." 3) + (3 + "user" 1 + "Hello there" 2)
    assertThat(request.promptTokens()).isEqualTo(16);
    assertThat(request.outputTokens()).isEqualTo(200);
    assertThat(request.stream()).isTrue();
    assertThat(request.model()).isEqualTo("gpt-4o-mini");
  }

  @Test
  void theDefaultCapAppliesWhenTheRequestSetsNone() {
    assertThat(
            read(
                    Endpoint.CHAT,
                    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
                .outputTokens())
        .isEqualTo(256);
    assertThat(
            read(Endpoint.RESPONSES, "{\"model\":\"m\",\"input\":\"x\",\"max_output_tokens\":9}")
                .outputTokens())
        .isEqualTo(9);
  }

  @Test
  void embeddingsChargeTheirInputsOnly() {
    OpenAiRequest request =
        read(
            Endpoint.EMBEDDINGS,
            "{\"model\":\"text-embedding-3-small\",\"input\":[\"alpha\",\"beta\",[1,2,3]]}");
    assertThat(request.promptTokens()).isEqualTo(1 + 1 + 3);
    assertThat(request.outputTokens()).isZero();
  }

  @Test
  void badBodiesAreTheClientsErrorsInOpenAisWords() {
    record Case(Endpoint endpoint, String body, String message, String code) {}
    Case[] cases = {
      new Case(Endpoint.CHAT, "", "We could not parse the JSON body", null),
      new Case(Endpoint.CHAT, "{\"model\":", "We could not parse the JSON body", null),
      new Case(
          Endpoint.CHAT,
          "{\"model\":\"a\",\"model\":\"b\",\"messages\":[{}]}",
          "We could not parse the JSON body",
          null),
      new Case(Endpoint.CHAT, "42", "Invalid type for request body", "invalid_type"),
      // Nothing may follow the JSON value: these were once answered 200 and forwarded.
      new Case(
          Endpoint.CHAT,
          "{\"model\":\"m\",\"messages\":[{}]} garbage",
          "We could not parse the JSON body",
          null),
      new Case(
          Endpoint.CHAT,
          "{\"model\":\"m\",\"messages\":[{}]}{\"model\":\"m\"}",
          "We could not parse the JSON body",
          null),
      new Case(
          Endpoint.CHAT,
          "{\"model\":\"m\",\"messages\":[{}]}\u0000\u0000",
          "We could not parse the JSON body",
          null),
      new Case(Endpoint.CHAT, "{\"messages\":[]}", "you must provide a model parameter", null),
      new Case(
          Endpoint.CHAT,
          "{\"model\":7,\"messages\":[]}",
          "Invalid type for 'model'",
          "invalid_type"),
      new Case(Endpoint.CHAT, "{\"model\":\"m\"}", "'messages' is a required property", null),
      new Case(
          Endpoint.CHAT,
          "{\"model\":\"m\",\"messages\":\"hi\"}",
          "Invalid type for 'messages'",
          "invalid_type"),
      new Case(
          Endpoint.CHAT,
          "{\"model\":\"m\",\"messages\":[]}",
          "Invalid 'messages': empty array",
          "empty_array"),
      new Case(
          Endpoint.CHAT,
          "{\"model\":\"m\",\"messages\":[\"hi\"]}",
          "Invalid type for 'messages[0]'",
          "invalid_type"),
      new Case(
          Endpoint.CHAT,
          "{\"model\":\"m\",\"messages\":[{}],\"stream\":\"yes\"}",
          "Invalid type for 'stream'",
          "invalid_type"),
      new Case(
          Endpoint.CHAT,
          "{\"model\":\"m\",\"messages\":[{}],\"max_tokens\":0}",
          "Invalid 'max_tokens'",
          "integer_below_min_value"),
      new Case(
          Endpoint.CHAT,
          "{\"model\":\"m\",\"messages\":[{}],\"max_tokens\":1.5}",
          "Invalid type for 'max_tokens'",
          "invalid_type"),
      new Case(
          Endpoint.CHAT,
          "{\"model\":\"m\",\"messages\":[{}],\"n\":1e99}",
          "Invalid type for 'n'",
          "invalid_type"),
      new Case(
          Endpoint.EMBEDDINGS,
          "{\"model\":\"m\",\"input\":[]}",
          "Invalid 'input': empty array",
          "empty_array"),
      new Case(
          Endpoint.EMBEDDINGS,
          "{\"model\":\"m\",\"input\":{}}",
          "Invalid type for 'input'",
          "invalid_type"),
      new Case(Endpoint.COMPLETIONS, "{\"model\":\"m\"}", "'prompt' is a required property", null),
    };
    for (Case c : cases) {
      assertThatThrownBy(() -> read(c.endpoint(), c.body()))
          .as(c.body())
          .isInstanceOfSatisfying(
              ApiError.class,
              e -> {
                assertThat(e.status()).isEqualTo(400);
                assertThat(e.type()).isEqualTo("invalid_request_error");
                assertThat(e.getMessage()).startsWith(c.message());
                assertThat(e.code()).isEqualTo(c.code());
              });
    }
  }

  /**
   * Only a stream of chat or legacy completions says whether its client wants the usage chunk: the
   * others always carry their usage (a whole answer, a Responses stream's last event).
   */
  @Test
  void aStreamedChatOrCompletionWithoutIncludeUsageDoesNotWantItsUsage() {
    String chat = "{\"model\":\"m\",\"messages\":[{}]";
    assertThat(read(Endpoint.CHAT, chat + ",\"stream\":true}").clientWantsUsage()).isFalse();
    assertThat(
            read(Endpoint.CHAT, chat + ",\"stream\":true,\"stream_options\":null}")
                .clientWantsUsage())
        .isFalse();
    assertThat(
            read(Endpoint.CHAT, chat + ",\"stream\":true,\"stream_options\":{}}")
                .clientWantsUsage())
        .isFalse();
    assertThat(
            read(
                    Endpoint.CHAT,
                    chat + ",\"stream\":true,\"stream_options\":{\"include_usage\":false}}")
                .clientWantsUsage())
        .isFalse();
    assertThat(
            read(
                    Endpoint.CHAT,
                    chat + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}")
                .clientWantsUsage())
        .isTrue();
    assertThat(read(Endpoint.CHAT, chat + "}").clientWantsUsage()).isTrue();
    assertThat(
            read(Endpoint.COMPLETIONS, "{\"model\":\"m\",\"prompt\":\"x\",\"stream\":true}")
                .clientWantsUsage())
        .isFalse();
    assertThat(
            read(Endpoint.RESPONSES, "{\"model\":\"m\",\"input\":\"x\",\"stream\":true}")
                .clientWantsUsage())
        .isTrue();
    assertThat(read(Endpoint.EMBEDDINGS, "{\"model\":\"m\",\"input\":\"x\"}").clientWantsUsage())
        .isTrue();
  }

  @Test
  void aStreamsOptionsOfTheWrongTypeAreTheClientsError() {
    String chat = "{\"model\":\"m\",\"messages\":[{}],\"stream\":true,\"stream_options\":";
    assertThatThrownBy(() -> read(Endpoint.CHAT, chat + "true}"))
        .isInstanceOfSatisfying(
            ApiError.class,
            e -> {
              assertThat(e.status()).isEqualTo(400);
              assertThat(e.getMessage())
                  .isEqualTo(
                      "Invalid type for 'stream_options': expected an object, but got a boolean"
                          + " instead.");
              assertThat(e.param()).isEqualTo("stream_options");
            });
    assertThatThrownBy(
            () ->
                read(
                    Endpoint.COMPLETIONS,
                    chat.replace("\"messages\":[{}]", "\"prompt\":\"x\"")
                        + "{\"include_usage\":\"yes\"}}"))
        .isInstanceOfSatisfying(
            ApiError.class,
            e -> {
              assertThat(e.getMessage())
                  .isEqualTo(
                      "Invalid type for 'stream_options.include_usage': expected a boolean, but"
                          + " got a string instead.");
              assertThat(e.param()).isEqualTo("stream_options.include_usage");
              assertThat(e.code()).isEqualTo("invalid_type");
            });
  }

  @Test
  void theModelIsRewrittenWithoutTouchingAnyOtherByte() {
    String body =
        "{ \"messages\" : [{\"model\":\"inner\"}],\n  \"model\":\"gpt-5\" , \"x\": 1.50 }";
    byte[] rewritten =
        RequestReader.withModel(body.getBytes(StandardCharsets.UTF_8), "gpt-5-2025-08-07");
    assertThat(new String(rewritten, StandardCharsets.UTF_8))
        .isEqualTo(
            "{ \"messages\" : [{\"model\":\"inner\"}],\n  \"model\":\"gpt-5-2025-08-07\" , \"x\": 1.50 }");
    byte[] escaped =
        RequestReader.withModel("{\"model\":\"a\\\"b\"}".getBytes(StandardCharsets.UTF_8), "q\"x");
    assertThat(new String(escaped, StandardCharsets.UTF_8)).isEqualTo("{\"model\":\"q\\\"x\"}");
  }

  /**
   * The model is checked before the body is looked at any further: a request for a model nobody
   * serves is refused with 404 even when the rest of its body is wrong too (so counting, which
   * comes after that validation, never runs for it).
   */
  @Test
  void theModelIsCheckedBeforeTheMessagesAreReadOrCounted() {
    byte[] body =
        ("{\"model\":\"nobody-serves-this\",\"messages\":\"" + "a".repeat(1 << 20) + "\"}")
            .getBytes(StandardCharsets.UTF_8);
    java.util.List<String> checked = new java.util.ArrayList<>();
    assertThatThrownBy(
            () ->
                reader.read(
                    Endpoint.CHAT,
                    body,
                    model -> {
                      checked.add(model);
                      throw ApiError.modelNotFound(model);
                    }))
        .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.status()).isEqualTo(404));
    assertThat(checked).containsExactly("nobody-serves-this");
    assertThatThrownBy(() -> reader.read(Endpoint.CHAT, body, model -> {}))
        .as("the same body for a served model is refused for its messages")
        .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.status()).isEqualTo(400));
  }

  /**
   * BPE is superlinear in a word's length: a 16 MiB body of one "word" once cost 12.5 s of CPU
   * before its answer. Long runs are counted in pieces and a request's text past 1 Mi characters at
   * one token per character — upper bounds, so the TPM charge stays conservative. (A regression
   * would run for hours: the suite's per-test timeout catches it; the cost itself is measured in
   * docs/benchmarks.md.)
   */
  @Test
  void aHugeWordIsEstimatedAsAnUpperBoundWithoutTokenizingItWhole() {
    TokenEstimator tokens = new TokenEstimator();
    String word = "a".repeat(16 << 20);
    int estimate = tokens.text("gpt-4o-mini", word);
    assertThat(estimate)
        .as("at least the exact count, 1 token per 8 a's")
        .isGreaterThanOrEqualTo(word.length() / 8);
    assertThat(estimate).as("at most one per character").isLessThanOrEqualTo(word.length());

    String words = "The quick brown fox jumps over the lazy dog. ".repeat(1000);
    assertThat(tokens.text("gpt-4o-mini", words))
        .as("ordinary text is counted exactly")
        .isEqualTo(
            com.knuddels.jtokkit.Encodings.newLazyEncodingRegistry()
                .getEncoding(com.knuddels.jtokkit.api.EncodingType.O200K_BASE)
                .countTokens(words));
    String mixed = "start " + "x".repeat(5000) + " end";
    int whole =
        com.knuddels.jtokkit.Encodings.newLazyEncodingRegistry()
            .getEncoding(com.knuddels.jtokkit.api.EncodingType.O200K_BASE)
            .countTokens(mixed);
    assertThat(tokens.text("gpt-4o-mini", mixed))
        .as("a long run in pieces: within a token or two of the whole count")
        .isBetween(whole - 2, whole + 2 + whole / 100);
  }
}
