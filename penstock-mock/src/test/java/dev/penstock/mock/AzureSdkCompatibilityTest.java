package dev.penstock.mock;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.azure.AzureOpenAIServiceVersion;
import com.openai.azure.AzureUrlPathMode;
import com.openai.azure.credential.AzureApiKeyCredential;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The official OpenAI Java SDK, in its Azure modes, talks to the simulator as it talks to Azure
 * OpenAI: an independent implementation of Azure's URLs and {@code api-key} header. Legacy mode
 * builds {@code /openai/deployments/{model}/...?api-version=...} (and {@code
 * /openai/responses?api-version=...}); unified mode speaks the v1 API under {@code /openai/v1}.
 */
class AzureSdkCompatibilityTest {
  private static final String KEY = "sk-test-azure-sdk-00001";

  private MockServer server;
  private OpenAIClient legacy;
  private OpenAIClient unified;

  @BeforeEach
  void start() {
    server =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(LatencyModel.ZERO)
                .outputTokens(8)
                .embeddingDimensions(16)
                .addKey(KeySpec.of("azure", KEY, 10_000, 10_000_000))
                .build());
    legacy =
        OpenAIOkHttpClient.builder()
            .baseUrl(server.azureEndpoint())
            .credential(AzureApiKeyCredential.create(KEY))
            .azureServiceVersion(AzureOpenAIServiceVersion.fromString("2025-04-01-preview"))
            // The SDK recognises Azure by host name; the simulator listens on 127.0.0.1.
            .azureUrlPathMode(AzureUrlPathMode.LEGACY)
            .maxRetries(0)
            .build();
    unified =
        OpenAIOkHttpClient.builder()
            .baseUrl(server.azureEndpoint() + "/openai/v1")
            .credential(AzureApiKeyCredential.create(KEY))
            .azureUrlPathMode(AzureUrlPathMode.UNIFIED)
            .maxRetries(0)
            .build();
  }

  @AfterEach
  void stop() {
    legacy.close();
    unified.close();
    server.close();
  }

  private static ChatCompletionCreateParams chat(String deployment) {
    return ChatCompletionCreateParams.builder()
        .model(deployment)
        .addUserMessage("Hello, Azure")
        .maxCompletionTokens(20)
        .build();
  }

  @Test
  void chatCompletionsOnBothApiGenerations() {
    for (OpenAIClient client : List.of(legacy, unified)) {
      ChatCompletion completion = client.chat().completions().create(chat("my-gpt"));
      assertThat(completion.model()).isEqualTo("my-gpt");
      assertThat(completion.choices().getFirst().message().content())
          .hasValue("The quick answer is that the pool of");
      assertThat(completion.usage().orElseThrow().completionTokens()).isEqualTo(8);
    }
    assertThat(server.stats().getFirst().succeeded()).isEqualTo(2);
  }

  @Test
  void streamingChatCompletionsOnBothApiGenerations() {
    ChatCompletionCreateParams params =
        chat("my-gpt").toBuilder()
            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
            .build();
    for (OpenAIClient client : List.of(legacy, unified)) {
      try (StreamResponse<ChatCompletionChunk> stream =
          client.chat().completions().createStreaming(params)) {
        List<ChatCompletionChunk> chunks = stream.stream().toList();
        String text =
            chunks.stream()
                .flatMap(c -> c.choices().stream())
                .map(choice -> choice.delta().content().orElse(""))
                .collect(Collectors.joining());
        assertThat(text).isEqualTo("The quick answer is that the pool of");
        assertThat(chunks.getLast().usage().orElseThrow().completionTokens()).isEqualTo(8);
      }
    }
  }

  @Test
  void embeddingsOnBothApiGenerations() {
    for (OpenAIClient client : List.of(legacy, unified)) {
      CreateEmbeddingResponse response =
          client
              .embeddings()
              .create(EmbeddingCreateParams.builder().model("my-embed").input("same").build());
      assertThat(response.model()).isEqualTo("my-embed");
      assertThat(response.data().getFirst().embedding()).hasSize(16);
    }
  }

  @Test
  void responsesAndTheirStreamsOnBothApiGenerations() {
    ResponseCreateParams params =
        ResponseCreateParams.builder().model("my-resp").input("Hi").build();
    for (OpenAIClient client : List.of(legacy, unified)) {
      Response response = client.responses().create(params);
      assertThat(response.usage().orElseThrow().outputTokens()).isEqualTo(8);
      try (StreamResponse<ResponseStreamEvent> stream =
          client.responses().createStreaming(params)) {
        List<ResponseStreamEvent> events = stream.stream().toList();
        Response completed = events.getLast().asCompleted().response();
        assertThat(completed.model().asString()).isEqualTo("my-resp");
        assertThat(completed.usage().orElseThrow().outputTokens()).isEqualTo(8);
      }
    }
  }
}
