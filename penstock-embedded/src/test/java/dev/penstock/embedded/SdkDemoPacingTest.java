package dev.penstock.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
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
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The demo's scenario through the library instead of the gateway, over more than a minute (the
 * simulator's window), so that an unpaced client would be refused: six strict keys of 200 RPM, the
 * SDK offering 1,500 calls a minute. Tagged {@code long} (about 95 s); its figures are in
 * docs/benchmarks.md ("Embedded library"):
 *
 * <pre>./mvnw -B -pl penstock-embedded -am verify -Dsurefire.excludedGroups= \
 *     -Dtest=SdkDemoPacingTest -Dsurefire.failIfNoSpecifiedTests=false</pre>
 */
@Tag("long")
class SdkDemoPacingTest {
  private static final int KEYS = 6;
  private static final int KEY_RPM = 200;
  private static final int OFFERED_PER_MINUTE = 1_500;

  @Test
  void theSdkGetsTheWholePoolAndNoKeyIsEverRefused() throws Exception {
    KeySpec[] keys = new KeySpec[KEYS];
    for (int i = 0; i < KEYS; i++) {
      keys[i] = KeySpec.of("key-" + i, "sk-demo-" + i + "-0000000001", KEY_RPM, 40_000);
    }
    AtomicLong refusedByPenstock = new AtomicLong();
    long before;
    long after;
    try (MockServer mock = Mocks.start(keys);
        Penstock penstock = Penstock.builder().model(Mocks.model(mock)).build()) {
      OpenAIClient sdk = PenstockOpenAI.client(penstock);
      ChatCompletionCreateParams params =
          ChatCompletionCreateParams.builder()
              .model(Mocks.MODEL)
              .addUserMessage("Say hello in one short sentence.")
              .maxCompletionTokens(32)
              .build();
      List<Future<?>> calls = new ArrayList<>();
      try (ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor();
          ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor()) {
        ScheduledFuture<?> arrivals =
            clock.scheduleAtFixedRate(
                () ->
                    calls.add(
                        callers.submit(
                            () -> {
                              try {
                                sdk.chat().completions().create(params);
                              } catch (RateLimitException deadlineWouldPass) {
                                // Penstock's own 429: the call could not start in time.
                                refusedByPenstock.incrementAndGet();
                              }
                            })),
                0,
                60_000_000 / OFFERED_PER_MINUTE,
                TimeUnit.MICROSECONDS);
        before = clock.schedule(() -> succeeded(mock), 20, TimeUnit.SECONDS).get();
        after = clock.schedule(() -> succeeded(mock), 60, TimeUnit.SECONDS).get();
        arrivals.cancel(false);
        clock.submit(() -> {}).get();
        for (Future<?> call : List.copyOf(calls)) {
          call.get(); // a call that failed otherwise fails the test here
        }
      }
      long poolRpm = (long) KEYS * KEY_RPM;
      long delivered = after - before;
      StringBuilder perKey = new StringBuilder();
      for (KeyStats key : mock.stats()) {
        perKey.append(
            " %s: %d requests, peak %d in 60 s, %d in 1 s, %d 429s;"
                .formatted(
                    key.name(),
                    key.requests(),
                    key.peakRequests60s(),
                    key.peakRequests1s(),
                    key.rateLimited()));
      }
      System.out.printf(
          "embedded demo: offered %d/min, delivered %d in the minute from 20 s to 80 s = %.1f%% of"
              + " %d RPM; %d refused by Penstock (deadline); %s%n",
          OFFERED_PER_MINUTE,
          delivered,
          100.0 * delivered / poolRpm,
          poolRpm,
          refusedByPenstock.get(),
          perKey);
      assertThat(delivered).as("RPM delivered").isGreaterThanOrEqualTo((long) (0.95 * poolRpm));
      for (KeyStats key : mock.stats()) {
        assertThat(key.rateLimited()).as(key.name() + " upstream 429s").isZero();
        assertThat(key.peakRequests60s()).as(key.name() + " peak in 60 s").isLessThanOrEqualTo(200);
      }
      assertThat(penstock.outstanding()).isZero();
    }
  }

  private static long succeeded(MockServer mock) {
    return mock.stats().stream().mapToLong(KeyStats::succeeded).sum();
  }
}
