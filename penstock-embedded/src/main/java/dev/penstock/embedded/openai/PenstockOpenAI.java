package dev.penstock.embedded.openai;

import com.openai.client.OpenAIClient;
import com.openai.client.OpenAIClientAsync;
import com.openai.client.OpenAIClientAsyncImpl;
import com.openai.client.OpenAIClientImpl;
import com.openai.core.ClientOptions;
import com.openai.core.http.HttpClient;
import dev.penstock.embedded.Penstock;

/**
 * OpenAI SDK clients whose every call is paced by a {@link Penstock}:
 *
 * <pre>{@code
 * try (Penstock penstock = Penstock.fromYaml(Path.of("penstock.yaml"))) {
 *   OpenAIClient openai = PenstockOpenAI.client(penstock);
 *   openai.chat().completions().create(params); // as with OpenAIOkHttpClient
 * }
 * }</pre>
 *
 * <p>The clients use the SDK's supported extension point, {@code
 * ClientOptions.builder().httpClient(...)}, with {@link #httpClient}. The SDK's own retries are off
 * ({@code maxRetries(0)}): Penstock retries and fails over itself, within each call's deadline, and
 * an SDK retry of Penstock's {@code 429} would only queue the call again. The API key and base URL
 * given to the SDK are placeholders: each deployment's own replace them.
 */
public final class PenstockOpenAI {
  private PenstockOpenAI() {}

  /** The paced transport, for an application that assembles its own {@link ClientOptions}. */
  public static HttpClient httpClient(Penstock penstock) {
    return new PacedHttpClient(penstock);
  }

  /** Client options with the paced transport; add headers, timeouts, etc., then build. */
  public static ClientOptions.Builder options(Penstock penstock) {
    return ClientOptions.builder()
        .httpClient(httpClient(penstock))
        .apiKey("penstock-embedded") // never sent: each deployment's key replaces it
        .baseUrl("https://penstock.invalid/v1") // never used: each deployment's URL replaces it
        .maxRetries(0);
  }

  /** A blocking SDK client over {@code penstock}. */
  public static OpenAIClient client(Penstock penstock) {
    return new OpenAIClientImpl(options(penstock).build());
  }

  /** An asynchronous SDK client over {@code penstock}. */
  public static OpenAIClientAsync clientAsync(Penstock penstock) {
    return new OpenAIClientAsyncImpl(options(penstock).build());
  }
}
