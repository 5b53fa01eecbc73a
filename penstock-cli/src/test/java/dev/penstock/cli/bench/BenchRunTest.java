package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** BenchRun with a scripted in-memory transport: no sockets, real threads and clock. */
class BenchRunTest {
  private static final Clock WALL =
      Clock.fixed(Instant.parse("2025-01-01T00:00:00Z"), ZoneOffset.UTC);

  /** Answers 200 with usage once {@code open} is released. */
  private static final class GatedTransport implements Transport {
    final CountDownLatch open = new CountDownLatch(1);

    @Override
    public HttpReply send(byte[] body) throws InterruptedException {
      open.await();
      byte[] json =
          "{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}"
              .getBytes(StandardCharsets.UTF_8);
      return new HttpReply(200, "", -1, new ByteArrayInputStream(json));
    }

    @Override
    public void close() {}
  }

  @Test
  void openLoopDropsWhatExceedsMaxInFlightAndCountsIt() throws Exception {
    GatedTransport transport = new GatedTransport();
    BenchOptions options =
        BenchOptions.builder()
            .rate(Rate.perSecond(1_000))
            .requestCap(5)
            .maxInFlight(2)
            .duration(Duration.ofSeconds(30))
            .build();
    List<ProgressSnapshot> snapshots = new ArrayList<>();
    ProgressListener listener =
        snapshot -> {
          snapshots.add(snapshot);
          // Requests 0 and 1 hold both slots until 2, 3 and 4 have been dropped.
          if (snapshot.dropped() == 3) {
            transport.open.countDown();
          }
        };

    BenchResult result =
        new BenchRun(options, transport, BenchClock.system(), WALL).execute(listener);

    assertThat(result.statusCounts())
        .containsExactly(Map.entry("2xx", 2L), Map.entry("dropped", 3L));
    assertThat(result.sent()).isEqualTo(2);
    assertThat(result.dropped()).isEqualTo(3);
    assertThat(result.inputTokens()).isEqualTo(6);
    assertThat(result.startedAt()).isEqualTo(WALL.instant());
    assertThat(snapshots).allSatisfy(s -> assertThat(s.inFlight()).isLessThanOrEqualTo(2));
  }

  @Test
  void closedLoopNeverHasMoreInFlightThanItsConcurrency() throws Exception {
    GatedTransport transport = new GatedTransport();
    transport.open.countDown();
    BenchOptions options = BenchOptions.builder().concurrency(3).requestCap(200).build();
    List<Integer> inFlight = new ArrayList<>();

    BenchResult result =
        new BenchRun(options, transport, BenchClock.system(), WALL)
            .execute(snapshot -> inFlight.add(snapshot.inFlight()));

    assertThat(result.statusCounts()).containsExactly(Map.entry("2xx", 200L));
    assertThat(inFlight).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(3));
  }
}
