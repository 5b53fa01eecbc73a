package dev.penstock.mock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.embeddings.EmbeddingModel;
import com.openai.models.models.Model;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK talks to the simulator as it talks to OpenAI. */
class OpenAiSdkCompatibilityTest {
  private static final String KEY = "sk-test-sdk-0000000001";
  private static final String TIGHT = "sk-test-sdk-0000000002";

  private MockServer server;
  private OpenAIClient client;

  @BeforeEach
  void start() {
    server =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(new LatencyModel(5, 1, 0))
                .outputTokens(8)
                .addKey(KeySpec.of("roomy", KEY, 10_000, 10_000_000))
                .addKey(KeySpec.of("tight", TIGHT, 1, 10_000))
                .build());
    client = sdk(KEY);
  }

  private OpenAIClient sdk(String key) {
    return OpenAIOkHttpClient.builder().baseUrl(server.baseUrl()).apiKey(key).maxRetries(0).build();
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }

  private static ChatCompletionCreateParams chat() {
    return ChatCompletionCreateParams.builder()
        .model("gpt-4o-mini")
        .addUserMessage("Hello, simulator")
        .maxCompletionTokens(20)
        .build();
  }

  @Test
  void chatCompletion() {
    ChatCompletion completion = client.chat().completions().create(chat());
    assertThat(completion.choices()).hasSize(1);
    assertThat(completion.choices().getFirst().message().content())
        .hasValue("The quick answer is that the pool of");
    assertThat(completion.choices().getFirst().finishReason())
        .isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    assertThat(completion.usage().orElseThrow().completionTokens()).isEqualTo(8);
  }

  @Test
  void streamingChatCompletion() {
    ChatCompletionCreateParams params =
        chat().toBuilder()
            .streamOptions(
                com.openai.models.chat.completions.ChatCompletionStreamOptions.builder()
                    .includeUsage(true)
                    .build())
            .build();
    try (StreamResponse<ChatCompletionChunk> stream =
        client.chat().completions().createStreaming(params)) {
      List<ChatCompletionChunk> chunks = stream.stream().toList();
      String text =
          chunks.stream()
              .flatMap(c -> c.choices().stream())
              .map(choice -> choice.delta().content().orElse(""))
              .collect(Collectors.joining());
      assertThat(text).isEqualTo("The quick answer is that the pool of");
      assertThat(chunks.getLast().usage().orElseThrow().totalTokens()).isPositive();
    }
  }

  @Test
  void embeddings() {
    CreateEmbeddingResponse response =
        client
            .embeddings()
            .create(
                EmbeddingCreateParams.builder()
                    .model(EmbeddingModel.TEXT_EMBEDDING_3_SMALL)
                    .input("deterministic")
                    .build());
    assertThat(response.data()).hasSize(1);
    assertThat(response.data().getFirst().embedding()).hasSize(1536);
  }

  @Test
  void models() {
    List<String> ids = client.models().list().data().stream().map(Model::id).toList();
    assertThat(ids).contains("gpt-4o-mini", "gpt-5");
  }

  @Test
  void responses() {
    Response response =
        client
            .responses()
            .create(ResponseCreateParams.builder().model("gpt-4o-mini").input("Hi").build());
    String text =
        response.output().getFirst().asMessage().content().getFirst().asOutputText().text();
    assertThat(text).isEqualTo("The quick answer is that the pool of");
    assertThat(response.usage().orElseThrow().outputTokens()).isEqualTo(8);
  }

  @Test
  void aRateLimitSurfacesAsTheSdksRateLimitException() {
    OpenAIClient tight = sdk(TIGHT);
    try {
      tight.chat().completions().create(chat());
      assertThatThrownBy(() -> tight.chat().completions().create(chat()))
          .isInstanceOf(RateLimitException.class)
          .hasMessageContaining("Rate limit reached");
    } finally {
      tight.close();
    }
  }
}
