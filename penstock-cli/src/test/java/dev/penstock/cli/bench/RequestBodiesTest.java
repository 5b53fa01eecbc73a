package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RequestBodiesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Encoding O200K =
      Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.O200K_BASE);

  private static JsonNode body(BenchOptions.Builder options, long number) throws Exception {
    return JSON.readTree(new RequestBodies(options.build()).body(number));
  }

  @ParameterizedTest
  @ValueSource(ints = {8, 64, 500, 4_000})
  void promptIsAboutTheRequestedSizeInO200kTokens(int promptTokens) {
    for (long number : new long[] {0, 7, 1_234, 123_456, 999_999_999}) {
      int tokens = O200K.countTokens(RequestBodies.prompt(number, promptTokens));

      // "about N": within one token for the first billion requests.
      assertThat(tokens).as("request %d", number).isBetween(promptTokens - 1, promptTokens + 1);
    }
  }

  @Test
  void everyRequestHasADistinctPromptSoNoCacheCanAnswerIt() throws Exception {
    var options = BenchOptions.builder();

    String first = body(options, 1).at("/messages/0/content").asText();
    String second = body(options, 2).at("/messages/0/content").asText();

    assertThat(first).startsWith("Request 1:").isNotEqualTo(second);
    assertThat(first).isEqualTo(RequestBodies.prompt(1, 64));
  }

  @Test
  void chatSendsMaxCompletionTokensAndAsksForUsageInStreams() throws Exception {
    JsonNode body =
        body(BenchOptions.builder().model("gpt-\"quoted\"").maxTokens(17).stream(true), 3);

    assertThat(body.path("model").asText()).isEqualTo("gpt-\"quoted\"");
    assertThat(body.at("/messages/0/role").asText()).isEqualTo("user");
    assertThat(body.path("max_completion_tokens").asInt()).isEqualTo(17);
    assertThat(body.path("stream").asBoolean()).isTrue();
    assertThat(body.at("/stream_options/include_usage").asBoolean()).isTrue();
  }

  @Test
  void nonStreamChatSendsNoStreamFields() throws Exception {
    JsonNode body = body(BenchOptions.builder(), 3);

    assertThat(body.has("stream")).isFalse();
    assertThat(body.has("stream_options")).isFalse();
  }

  @Test
  void eachEndpointGetsItsOwnShape() throws Exception {
    JsonNode completions =
        body(BenchOptions.builder().endpoint(Endpoint.COMPLETIONS).maxTokens(9), 1);
    JsonNode responses =
        body(BenchOptions.builder().endpoint(Endpoint.RESPONSES).maxTokens(9).stream(true), 1);
    JsonNode embeddings = body(BenchOptions.builder().endpoint(Endpoint.EMBEDDINGS), 1);

    assertThat(completions.path("prompt").asText()).startsWith("Request 1:");
    assertThat(completions.path("max_tokens").asInt()).isEqualTo(9);
    assertThat(responses.path("input").asText()).startsWith("Request 1:");
    assertThat(responses.path("max_output_tokens").asInt()).isEqualTo(9);
    assertThat(responses.path("stream").asBoolean()).isTrue();
    assertThat(responses.has("stream_options")).isFalse();
    assertThat(embeddings.path("input").asText()).startsWith("Request 1:");
    assertThat(embeddings.fieldNames()).toIterable().containsExactly("model", "input");
  }
}
