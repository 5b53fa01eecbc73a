package dev.penstock.jmh;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.penstock.embedded.Deployment;
import dev.penstock.embedded.Penstock;
import dev.penstock.embedded.openai.PenstockOpenAI;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the embedded library adds to one call of the OpenAI SDK: the same chat completion, one call
 * at a time, against the simulator in the same JVM with zero latency — {@code direct} with the
 * SDK's own OkHttp transport, {@code embedded} through {@code PenstockOpenAI} (admission, the JDK
 * HTTP client, usage settlement). The key's limits are far above what one thread can send, so no
 * call ever waits for capacity: the difference is the per-call overhead, the transport's included.
 *
 * <p>Two more split it without the SDK (the same request as bytes, the answer read whole): {@code
 * jdkDirect}, the JDK HTTP client alone, and {@code plainEmbedded}, {@code Penstock.call} — their
 * difference is Penstock's own work (peek, admission, settlement), the rest is the transport's.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(1)
public class EmbeddedOverheadBenchmark {
  private static final String KEY = "sk-jmh-000000000001";
  private static final ChatCompletionCreateParams CHAT =
      ChatCompletionCreateParams.builder()
          .model("gpt-4o-mini")
          .addUserMessage("Hello")
          .maxCompletionTokens(8)
          .build();

  private static final byte[] BODY =
      "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_completion_tokens\":8}"
          .getBytes(java.nio.charset.StandardCharsets.UTF_8);

  private MockServer mock;
  private java.net.http.HttpClient jdk;
  private java.net.http.HttpRequest jdkRequest;
  private Penstock penstock;
  private OpenAIClient direct;
  private OpenAIClient embedded;

  @Setup(Level.Trial)
  public void start() {
    mock =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(LatencyModel.ZERO)
                .outputTokens(8)
                .addKey(KeySpec.of("jmh", KEY, 1_000_000_000, 100_000_000_000L))
                .build());
    direct = OpenAIOkHttpClient.builder().baseUrl(mock.baseUrl()).apiKey(KEY).maxRetries(0).build();
    penstock =
        Penstock.builder()
            .model(
                "gpt-4o-mini",
                Deployment.builder("jmh")
                    .baseUrl(mock.baseUrl())
                    .apiKey(KEY)
                    .rpm(1_000_000_000)
                    .tpm(100_000_000_000L)
                    .build())
            .build();
    embedded = PenstockOpenAI.client(penstock);
    jdk =
        java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_1_1)
            .build();
    jdkRequest =
        java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(mock.baseUrl() + "/chat/completions"))
            .header("Authorization", "Bearer " + KEY)
            .header("Content-Type", "application/json")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(BODY))
            .build();
  }

  @TearDown(Level.Trial)
  public void stop() {
    jdk.close();
    direct.close();
    embedded.close();
    penstock.close();
    mock.close();
  }

  @Benchmark
  public ChatCompletion direct() {
    return direct.chat().completions().create(CHAT);
  }

  @Benchmark
  public ChatCompletion embedded() {
    return embedded.chat().completions().create(CHAT);
  }

  @Benchmark
  public byte[] jdkDirect() throws java.io.IOException, InterruptedException {
    return jdk.send(jdkRequest, java.net.http.HttpResponse.BodyHandlers.ofByteArray()).body();
  }

  @Benchmark
  public byte[] plainEmbedded() throws java.io.IOException, InterruptedException {
    try (dev.penstock.embedded.PenstockResponse answer =
        penstock.call(dev.penstock.embedded.PenstockRequest.post("chat/completions", BODY))) {
      return answer.body().readAllBytes();
    }
  }
}
