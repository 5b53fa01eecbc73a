package dev.penstock.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.core.time.FakeTicker;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.telemetry.Outcome;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The stages around the request's way, served directly: record (the observers hear of every request
 * once), answer (every exception becomes the client's answer, or silence), watch (the client is
 * watched exactly while the request is served).
 */
class OuterStagesTest {
  private final FakeTicker ticker = new FakeTicker();
  private final RecordingObserver observer = new RecordingObserver();
  private final RecordingExchange client = RecordingExchange.of("{}");
  private final ProxyCall call = PipelineHarness.call(client, PipelineHarness.NO_ROUTES, 0);

  private void serve(Stage... stages) throws InterruptedException {
    new Chain(List.of(stages), 0).proceed(call);
  }

  @Test
  void theObserversHearOfARequestOnceEvenWhenAStageFailsUnexpectedly() {
    Stage bug =
        (c, chain) -> {
          ticker.advance(Duration.ofMillis(7));
          throw new IllegalStateException("a bug");
        };

    assertThatThrownBy(() -> serve(new RecordStage(observer, ticker), bug)).hasMessage("a bug");

    assertThat(observer.only().totalNanos()).isEqualTo(Duration.ofMillis(7).toNanos());
  }

  @Test
  void anApiErrorBecomesTheClientsAnswerWithPenstocksHeaders() throws Exception {
    serve(
        new AnswerStage(),
        (c, chain) -> {
          throw new ApiError(429, "penstock_overloaded", "busy", null, "queue_full", 1500);
        });

    assertThat(client.status()).isEqualTo(429);
    assertThat(client.answerHeaders())
        .containsEntry("x-request-id", "req_x")
        .containsEntry("Retry-After", "2")
        .containsEntry("retry-after-ms", "1500");
    assertThat(client.json().at("/error/code").asText()).isEqualTo("queue_full");
  }

  @Test
  void aClientThatLeftGetsNoAnswer() throws Exception {
    serve(
        new AnswerStage(),
        (c, chain) -> {
          c.cancel().cancel("client_closed");
          throw ApiError.invalid("too late", null, null);
        });

    assertThat(client.answered()).isFalse();
    assertThat(client.leftUnanswered()).as("its connection is closed instead").isTrue();
  }

  @Test
  void clientGoneIsRecordedAndNotAnswered() throws Exception {
    serve(
        new AnswerStage(),
        (c, chain) -> {
          throw new ClientGone("client_stalled");
        });

    assertThat(client.answered()).isFalse();
    assertThat(client.leftUnanswered()).as("its connection is closed instead").isTrue();
    assertThat(call.record().outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(call.record().errorCode()).isEqualTo("client_stalled");
  }

  @Test
  void anInterruptedRequestIsAnswered503ShuttingDownAndKeepsItsInterrupt() throws Exception {
    try {
      serve(
          new AnswerStage(),
          (c, chain) -> {
            throw new InterruptedException();
          });

      assertThat(Thread.currentThread().isInterrupted()).isTrue();
    } finally {
      Thread.interrupted();
    }
    assertThat(client.status()).isEqualTo(503);
    assertThat(client.json().at("/error/code").asText()).isEqualTo("shutting_down");
    assertThat(client.answerHeaders()).containsEntry("Retry-After", "1");
  }

  @Test
  void theClientIsWatchedWhileItsRequestIsServedAndNoLonger() {
    ClientWatch watch = ClientWatch.manual(ticker, () -> 1);
    int[] watching = {-1};

    assertThatThrownBy(
            () ->
                serve(
                    new WatchStage(watch),
                    (c, chain) -> {
                      watching[0] = watch.watching();
                      throw new IllegalStateException("the request failed");
                    }))
        .hasMessage("the request failed");

    assertThat(watching[0]).isEqualTo(1);
    assertThat(watch.watching()).isZero();
  }

  @Test
  void theWatchCancelsTheCallOfAClientThatClosed() throws Exception {
    ClientWatch watch = ClientWatch.manual(ticker, () -> 1);
    serve(
        new WatchStage(watch),
        (c, chain) -> {
          watch.sweep();
          assertThat(c.cancel().cancelled()).isFalse();
          client.leave();
          watch.sweep();
          assertThat(c.cancel().reason()).isEqualTo("client_closed");
        });

    assertThat(call.cancel().cancelled()).isTrue();
  }
}
