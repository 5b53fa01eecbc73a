package dev.penstock.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import dev.penstock.embedded.openai.PenstockOpenAI;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.MockServer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The official OpenAI Java SDK through the embedded transport, against the simulator with strict
 * keys (it answers {@code 429} above each key's limit): the SDK's calls are paced over the keys.
 */
class SdkPacingTest {
  private MockServer mock;
  private Penstock penstock;

  @AfterEach
  void stop() {
    if (penstock != null) {
      penstock.close();
      assertThat(penstock.outstanding()).as("reservations held after close").isZero();
      assertThat(penstock.leakedReservations()).as("leaked reservations").isZero();
    }
    if (mock != null) {
      mock.close();
    }
  }

  private static ChatCompletionCreateParams chat() {
    return ChatCompletionCreateParams.builder()
        .model(Mocks.MODEL)
        .addUserMessage("Hello")
        .maxCompletionTokens(16)
        .build();
  }

  /**
   * Two keys of 600 RPM; the SDK offers 22 calls a second (2.2 times one key's limit, just above
   * the pool's 20) for 12 s. Over the measured window (3 s to 12 s) the pool must deliver at least
   * 95% of its RPM and no more than its RPM, and the simulator must never have had to refuse a
   * call.
   */
  @Test
  void loadAboveOneKeysLimitIsPacedOverThePoolWithoutAnUpstream429() throws Exception {
    mock =
        Mocks.start(
            KeySpec.of("a", "sk-emb-a-000001", 600, 1_000_000),
            KeySpec.of("b", "sk-emb-b-000002", 600, 1_000_000));
    penstock = Penstock.builder().model(Mocks.model(mock)).settings(Mocks.settings()).build();
    OpenAIClient sdk = PenstockOpenAI.client(penstock);
    // The SDK's first call loads its model classes for seconds on a busy machine: not what is
    // measured here. Four calls (of the keys' 600 a minute) warm it up.
    for (int i = 0; i < 4; i++) {
      sdk.chat().completions().create(chat());
    }

    List<Future<ChatCompletion>> answers = new ArrayList<>();
    long[] before = new long[1];
    long[] after = new long[1];
    try (ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor();
        ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor()) {
      ScheduledFuture<?> arrivals =
          clock.scheduleAtFixedRate(
              () -> answers.add(callers.submit(() -> sdk.chat().completions().create(chat()))),
              0,
              1_000_000 / 22,
              TimeUnit.MICROSECONDS);
      clock.schedule(() -> before[0] = upstreamRequests(), 3, TimeUnit.SECONDS).get();
      clock.schedule(() -> after[0] = upstreamRequests(), 9, TimeUnit.SECONDS).get();
      arrivals.cancel(false);
      clock.submit(() -> {}).get(); // the last arrival has been added
      for (Future<ChatCompletion> answer : List.copyOf(answers)) {
        assertThat(answer.get().choices()).isNotEmpty();
      }
    }
    double poolPerSecond = 2 * 600 / 60.0;
    double delivered = (after[0] - before[0]) / 9.0;
    // Both ways: at least 95% of the pool, and never more than the pool. The simulator counts
    // its limits over 60 s, so a 12-s run cannot make it refuse an unpaced client; the upper bound
    // is what tells pacing from passing the 22 calls a second straight through.
    assertThat(delivered)
        .as("calls per second over the window")
        .isGreaterThan(0.95 * poolPerSecond)
        .isLessThanOrEqualTo(1.03 * poolPerSecond);
    for (KeyStats key : mock.stats()) {
      assertThat(key.rateLimited()).as(key.name() + " upstream 429s").isZero();
      // 600 RPM (+ guard) is one call per ~100 ms: about 10 in a second, a few more where
      // network jitter bunches arrivals — never the burst of an unpaced client.
      assertThat(key.peakRequests1s()).as(key.name() + " peak in 1 s").isLessThanOrEqualTo(13);
    }
  }

  private long upstreamRequests() {
    return mock.stats().stream().mapToLong(KeyStats::requests).sum();
  }

  @Test
  void aStreamIsRelayedAndItsReservationHeldUntilTheSdkClosesIt() {
    mock = Mocks.start(KeySpec.of("a", "sk-emb-a-000001", 600, 1_000_000));
    penstock = Penstock.builder().model(Mocks.model(mock)).settings(Mocks.settings()).build();
    OpenAIClient sdk = PenstockOpenAI.client(penstock);
    ChatCompletionCreateParams params =
        chat().toBuilder()
            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
            .build();
    StringBuilder text = new StringBuilder();
    long chunks;
    try (StreamResponse<ChatCompletionChunk> stream =
        sdk.chat().completions().createStreaming(params)) {
      assertThat(penstock.outstanding()).as("held while the stream is open").isEqualTo(1);
      chunks =
          stream.stream()
              .peek(
                  chunk ->
                      chunk.choices().forEach(c -> c.delta().content().ifPresent(text::append)))
              .count();
    }
    assertThat(chunks).isGreaterThan(1);
    assertThat(text).isNotEmpty();
    assertThat(penstock.outstanding()).as("settled when the stream closed").isZero();
  }

  @Test
  void theAsyncClientIsPacedToo() throws Exception {
    mock = Mocks.start(KeySpec.of("a", "sk-emb-a-000001", 600, 1_000_000));
    penstock = Penstock.builder().model(Mocks.model(mock)).settings(Mocks.settings()).build();
    List<java.util.concurrent.CompletableFuture<ChatCompletion>> answers = new ArrayList<>();
    var sdk = PenstockOpenAI.clientAsync(penstock);
    for (int i = 0; i < 5; i++) {
      answers.add(sdk.chat().completions().create(chat()));
    }
    for (var answer : answers) {
      assertThat(answer.get(10, TimeUnit.SECONDS).choices()).isNotEmpty();
    }
    assertThat(mock.stats().getFirst().rateLimited()).isZero();
  }
}
