package dev.penstock.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.core.queue.Priority;
import dev.penstock.server.openai.ApiError;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The caller stage: priority and deadline headers, and the tenant of open mode. */
class CallerStageTest {
  private final PipelineHarness h = new PipelineHarness(PipelineHarness.TWO_DEPLOYMENTS);

  @AfterEach
  void everythingSettled() {
    try {
      h.assertSettled();
    } finally {
      h.close();
    }
  }

  @Test
  void aBadPriorityHeaderIsA400NamingTheHeader() {
    RecordingExchange client =
        RecordingExchange.chat("gpt-4o", false).header("x-penstock-priority", "urgent");

    h.handle(client);

    assertThat(client.status()).isEqualTo(400);
    assertThat(client.json().at("/error/param").asText()).isEqualTo("x-penstock-priority");
    assertThat(client.json().at("/error/code").asText()).isEqualTo("invalid_header");
    assertThat(client.answerHeaders())
        .containsEntry("x-request-id", "req_1")
        .containsEntry("x-penstock-attempts", "0");
    assertThat(h.upstream.calls()).isEmpty();
  }

  @Test
  void theCacheHeaderIsCheckedAndRemembered() throws Exception {
    RecordingExchange garbage =
        RecordingExchange.chat("gpt-4o", false).header("x-penstock-cache", "sometimes");
    h.handle(garbage);
    assertThat(garbage.status()).isEqualTo(400);
    assertThat(garbage.json().at("/error/param").asText()).isEqualTo("x-penstock-cache");
    assertThat(h.upstream.calls()).isEmpty();

    for (var expected : ProxyCall.CacheDirective.values()) {
      RecordingExchange client = RecordingExchange.chat("gpt-4o", false);
      if (expected != ProxyCall.CacheDirective.DEFAULT) {
        client.header(
            "x-penstock-cache",
            " " + expected.name().replace('_', '-').toUpperCase(java.util.Locale.ROOT));
      }
      ProxyCall call = PipelineHarness.call(client, h.routing(), 0);
      new Chain(List.of(new CallerStage(), (c, chain) -> {}), 0).proceed(call);
      assertThat(call.cacheDirective()).isEqualTo(expected);
      assertThat(call.answerHeaders()).containsEntry("x-penstock-cache", "bypass");
    }
  }

  @Test
  void aBadTimeoutHeaderIsA400() {
    for (String bad : List.of("0", "-5", "abc", "1.5", "86400001", "")) {
      RecordingExchange client =
          RecordingExchange.chat("gpt-4o", false).header("x-penstock-timeout-ms", bad);

      h.handle(client);

      assertThat(client.status()).as("x-penstock-timeout-ms: '%s'", bad).isEqualTo(400);
      assertThat(client.json().at("/error/param").asText()).isEqualTo("x-penstock-timeout-ms");
    }
    assertThat(h.upstream.calls()).isEmpty();
  }

  @Test
  void theDeadlineIsTheTimeoutCountedFromArrival() throws Exception {
    long arrived = Duration.ofSeconds(5).toNanos();
    ProxyCall call =
        PipelineHarness.call(
            RecordingExchange.chat("gpt-4o", false)
                .header("x-penstock-timeout-ms", "2500")
                .header("x-penstock-priority", "HIGH"),
            h.routing(),
            arrived);

    new Chain(List.of(new CallerStage(), (c, chain) -> {}), 0).proceed(call);

    assertThat(call.deadlineNanos()).isEqualTo(arrived + Duration.ofMillis(2500).toNanos());
    assertThat(call.priority()).isEqualTo(Priority.HIGH);
  }

  @Test
  void withoutATimeoutHeaderTheConfiguredDefaultApplies() throws Exception {
    ProxyCall call = PipelineHarness.call(RecordingExchange.chat("gpt-4o", false), h.routing(), 7);

    new Chain(List.of(new CallerStage(), (c, chain) -> {}), 0).proceed(call);

    assertThat(call.deadlineNanos()).isEqualTo(7 + h.config.defaults().timeoutMillis() * 1_000_000);
    assertThat(call.priority()).isEqualTo(Priority.NORMAL);
    assertThat(call.tenant()).isEqualTo("anonymous");
  }

  @Test
  void aRetryNeedsTimeLeftBeforeTheDeadline() {
    // The first attempt thinks for 3 s and fails; the deadline, 2 s after arrival, has passed
    // (it does not restart with the attempt): no second attempt, the first one's failure.
    h.upstream.then(
        ScriptedUpstream.thinks(
            Duration.ofSeconds(3),
            ScriptedUpstream.json(
                500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}")));
    RecordingExchange client =
        RecordingExchange.chat("gpt-4o", false).header("x-penstock-timeout-ms", "2000");

    h.handle(client);

    assertThat(client.status()).isEqualTo(500);
    assertThat(client.json().at("/error/message").asText()).isEqualTo("boom");
    assertThat(client.answerHeaders()).containsEntry("x-penstock-attempts", "1");
    assertThat(h.upstream.deploymentsCalled()).containsExactly("a");
  }

  @Test
  void theTenantIsAHashOfTheCredentialNeverTheCredential() throws Exception {
    ProxyCall call =
        PipelineHarness.call(
            RecordingExchange.chat("gpt-4o", false).header("Authorization", "Bearer sk-secret"),
            h.routing(),
            0);

    new Chain(List.of(new CallerStage(), (c, chain) -> {}), 0).proceed(call);

    assertThat(call.tenant()).matches("[0-9a-f]{16}").doesNotContain("secret");
    assertThat(call.record().tenant()).isEqualTo(call.tenant());
  }

  @Test
  void aBadHeaderIsRefusedBeforeTheNextStage() {
    ProxyCall call =
        PipelineHarness.call(
            RecordingExchange.chat("gpt-4o", false).header("x-penstock-priority", "urgent"),
            h.routing(),
            0);

    assertThatThrownBy(
            () ->
                new Chain(
                        List.of(
                            new CallerStage(),
                            (c, chain) -> {
                              throw new AssertionError("proceeded");
                            }),
                        0)
                    .proceed(call))
        .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.status()).isEqualTo(400));
  }

  @Test
  void aKeysPriorityCeilingLowersWhatItAsksForAndItsIdIsTheTenant(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    dev.penstock.server.tenant.SqliteStorage storage =
        dev.penstock.server.tenant.SqliteStorage.open(dir.resolve("p.db"));
    java.time.Clock clock = java.time.Clock.systemUTC();
    dev.penstock.server.tenant.Tenants tenants =
        new dev.penstock.server.tenant.Tenants(
            new dev.penstock.server.tenant.VirtualKeys(
                storage.keys(),
                "s".repeat(32).getBytes(java.nio.charset.StandardCharsets.UTF_8),
                clock),
            storage.ledger(),
            new dev.penstock.server.tenant.LedgerWriter(storage.ledger()),
            clock,
            dev.penstock.server.tenant.Tenants.Auth.AUTO,
            dev.penstock.server.tenant.Pricing.NONE,
            storage,
            60_000_000_000L);
    try {
      dev.penstock.server.tenant.VirtualKeys.Created low =
          tenants
              .keys()
              .create(
                  new dev.penstock.server.tenant.VirtualKey(
                      "",
                      "batch-jobs",
                      "",
                      "",
                      List.of(),
                      0,
                      0,
                      "low",
                      0,
                      0,
                      null,
                      java.util.Map.of(),
                      java.time.Instant.EPOCH,
                      null));
      for (String asked : List.of("high", "normal", "low")) {
        ProxyCall call =
            PipelineHarness.call(
                RecordingExchange.chat("gpt-4o", false)
                    .header("Authorization", "Bearer " + low.key())
                    .header("x-penstock-priority", asked),
                h.routing(),
                0);
        new Chain(List.of(new CallerStage(tenants), (c, chain) -> {}), 0).proceed(call);
        assertThat(call.priority()).as("asked %s", asked).isEqualTo(Priority.LOW);
        assertThat(call.tenant()).isEqualTo(low.record().id());
        assertThat(call.key()).isNotNull();
      }
      ProxyCall stranger =
          PipelineHarness.call(RecordingExchange.chat("gpt-4o", false), h.routing(), 0);
      assertThatThrownBy(
              () ->
                  new Chain(List.of(new CallerStage(tenants), (c, chain) -> {}), 0)
                      .proceed(stranger))
          .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.status()).isEqualTo(401));
    } finally {
      tenants.close();
    }
  }
}
