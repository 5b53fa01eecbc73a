package dev.penstock.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.mock.KeySpec;
import dev.penstock.mock.MockServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link Penstock#close()} with calls waiting, in flight and streaming. */
class CloseTest {
  private MockServer mock;

  @AfterEach
  void stop() {
    if (mock != null) {
      mock.close();
    }
  }

  @Test
  void closeRefusesWaitersEndsStreamsReleasesEveryReservationAndLeavesNoThread() throws Exception {
    mock = Mocks.start(KeySpec.of("a", "sk-emb-a-000001", 6, 1_000_000));
    Penstock penstock =
        Penstock.builder().model(Mocks.model(mock)).settings(Mocks.settings()).build();
    PenstockResponse stream =
        penstock.call(PenstockRequest.post("chat/completions", Mocks.chat(true)));
    assertThat(stream.status()).isEqualTo(200);
    List<CompletableFuture<PenstockResponse>> waiting = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      waiting.add(penstock.callAsync(PenstockRequest.post("chat/completions", Mocks.chat(false))));
    }
    Mocks.await("five calls to wait", Duration.ofSeconds(5), () -> penstock.queued() == 5);
    assertThat(penstock.outstanding()).as("the open stream's").isEqualTo(1);

    penstock.close();

    for (CompletableFuture<PenstockResponse> call : waiting) {
      try (PenstockResponse answer = call.get(5, TimeUnit.SECONDS)) {
        assertThat(answer.status()).isEqualTo(503);
        assertThat(answer.header("retry-after")).isPresent();
      }
    }
    assertThat(penstock.queued()).isZero();
    assertThat(penstock.outstanding()).as("reservations after close").isZero();
    assertThat(penstock.leakedReservations()).isZero();
    stream.close(); // after close() ended it: a no-op, and no second settlement
    assertThat(penstock.outstanding()).isZero();
    // Threads finish the last instructions of their task after close() saw them done.
    Mocks.await(
        "Penstock's threads to end, still running: " + Mocks.penstockThreads(),
        Duration.ofSeconds(2),
        () -> Mocks.penstockThreads().isEmpty());
    try (PenstockResponse late =
        penstock.call(PenstockRequest.post("chat/completions", Mocks.chat(false)))) {
      assertThat(late.status()).isEqualTo(503);
    }
  }
}
