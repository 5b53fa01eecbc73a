package dev.penstock.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.errors.OpenAIIoException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.penstock.embedded.openai.PenstockOpenAI;
import dev.penstock.mock.FaultKind;
import dev.penstock.mock.FaultRates;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.MockServer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Failover to a healthy deployment, and callers that give up while they wait. */
class FailoverAndCancelTest {
  private MockServer mock;
  private Penstock penstock;

  @AfterEach
  void stop() {
    if (penstock != null) {
      penstock.close();
      assertThat(penstock.outstanding()).isZero();
      assertThat(penstock.leakedReservations()).isZero();
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

  @Test
  void callsOnAFailingDeploymentFailOverAndItsCircuitOpens() throws Exception {
    mock =
        Mocks.start(
            KeySpec.of("sick", "sk-emb-a-000001", 6000, 1_000_000)
                .withFaults(new FaultRates(Map.of(FaultKind.ERROR_500, 1.0))),
            KeySpec.of("well", "sk-emb-b-000002", 6000, 1_000_000));
    penstock = Penstock.builder().model(Mocks.model(mock)).settings(Mocks.settings()).build();
    for (int i = 0; i < 20; i++) {
      try (PenstockResponse answer =
          penstock.call(PenstockRequest.post("chat/completions", Mocks.chat(false)))) {
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.deployment()).contains("well");
      }
    }
    KeyStats sick = mock.stats().getFirst();
    // Five failures in a row open the circuit (the default breaker): the sick key is left alone.
    assertThat(sick.requests()).isBetween(1L, 6L);
    assertThat(penstock.outstanding()).isZero();
  }

  /** One key of 6 RPM: after the first call, the next waits about ten seconds in the queue. */
  private OpenAIClient slowPool() {
    mock = Mocks.start(KeySpec.of("a", "sk-emb-a-000001", 6, 1_000_000));
    penstock = Penstock.builder().model(Mocks.model(mock)).settings(Mocks.settings()).build();
    OpenAIClient sdk = PenstockOpenAI.client(penstock);
    sdk.chat().completions().create(chat()); // takes the slot
    return sdk;
  }

  @Test
  void anInterruptedCallerIsWithdrawnAndReleasesItsReservation() throws Exception {
    OpenAIClient sdk = slowPool();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CountDownLatch done = new CountDownLatch(1);
    Thread caller =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    sdk.chat().completions().create(chat());
                  } catch (RuntimeException e) {
                    failure.set(e);
                  } finally {
                    done.countDown();
                  }
                });
    Mocks.await("the call to wait", Duration.ofSeconds(5), () -> penstock.queued() == 1);
    caller.interrupt();
    assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(failure.get()).isInstanceOf(OpenAIIoException.class);
    assertThat(penstock.queued()).isZero();
    assertThat(penstock.outstanding()).isZero();
    assertThat(mock.stats().getFirst().requests()).as("never sent").isEqualTo(1);
  }

  @Test
  void aCallerInterruptedWhileItsUpstreamThinksAbortsTheCallAndReleasesItsReservation()
      throws Exception {
    mock =
        dev.penstock.mock.MockServer.start(
            dev.penstock.mock.MockConfig.builder()
                .port(0)
                .latency(new dev.penstock.mock.LatencyModel(3_000, 0, 0))
                .addKey(KeySpec.of("slow", "sk-emb-a-000001", 600, 1_000_000))
                .build());
    penstock = Penstock.builder().model(Mocks.model(mock)).settings(Mocks.settings()).build();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CountDownLatch done = new CountDownLatch(1);
    Thread caller =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    PenstockOpenAI.client(penstock).chat().completions().create(chat());
                  } catch (RuntimeException e) {
                    failure.set(e);
                  } finally {
                    done.countDown();
                  }
                });
    Mocks.await(
        "the upstream to have the call",
        Duration.ofSeconds(10),
        () -> mock.stats().getFirst().requests() == 1);
    assertThat(penstock.outstanding()).isEqualTo(1);
    caller.interrupt();
    assertThat(done.await(2, TimeUnit.SECONDS)).as("ended well before the answer").isTrue();
    assertThat(failure.get()).isInstanceOf(OpenAIIoException.class);
    assertThat(penstock.outstanding()).isZero();
  }

  /**
   * Through {@link Penstock#callAsync} (and the SDK transport's {@code executeAsync}, which uses
   * it). The SDK's own futures do not pass a cancel down to their transport.
   */
  @Test
  void aCancelledAsyncCallIsWithdrawnAndReleasesItsReservation() {
    slowPool();
    CompletableFuture<?> call =
        penstock.callAsync(PenstockRequest.post("chat/completions", Mocks.chat(false)));
    Mocks.await("the call to wait", Duration.ofSeconds(5), () -> penstock.queued() == 1);
    call.cancel(true);
    Mocks.await("the call to be withdrawn", Duration.ofSeconds(5), () -> penstock.queued() == 0);
    Mocks.await("its reservation to go", Duration.ofSeconds(5), () -> penstock.outstanding() == 0);
    assertThat(mock.stats().getFirst().requests()).as("never sent").isEqualTo(1);
  }

  @Test
  void aCallThatCannotStartBeforeItsDeadlineIsRefusedAtOnceWithRetryAfter() throws Exception {
    slowPool();
    PenstockRequest hurried =
        PenstockRequest.post("chat/completions", Mocks.chat(false))
            .withTimeout(Duration.ofMillis(100));
    try (PenstockResponse answer = penstock.call(hurried)) {
      assertThat(answer.status()).isEqualTo(429);
      assertThat(answer.header("retry-after")).isPresent();
      assertThat(new String(answer.body().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
          .contains("penstock_overloaded");
    }
    assertThatThrownBy(
            () ->
                PenstockOpenAI.client(penstock)
                    .withOptions(o -> o.putHeader("x-penstock-timeout-ms", "100"))
                    .chat()
                    .completions()
                    .create(chat()))
        .isInstanceOf(com.openai.errors.RateLimitException.class);
  }
}
