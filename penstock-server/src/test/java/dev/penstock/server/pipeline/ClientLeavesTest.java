package dev.penstock.server.pipeline;

import static dev.penstock.server.pipeline.ScriptedUpstream.json;
import static dev.penstock.server.pipeline.ScriptedUpstream.sse;
import static dev.penstock.server.pipeline.StreamRelayTest.DONE;
import static dev.penstock.server.pipeline.StreamRelayTest.HEL;
import static dev.penstock.server.pipeline.StreamRelayTest.LO;
import static dev.penstock.server.pipeline.StreamRelayTest.USAGE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.server.telemetry.Outcome;
import dev.penstock.server.telemetry.RequestRecord;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A client that leaves is let go at once, whatever its request is doing — relaying, waiting for the
 * upstream, waiting in the queue — and whatever the request held is settled; a client that stops
 * reading is taken for gone after {@code defaults.client_write_timeout_ms}.
 */
class ClientLeavesTest {
  private PipelineHarness h = new PipelineHarness(PipelineHarness.TWO_DEPLOYMENTS);

  @AfterEach
  void everythingSettled() {
    try {
      h.assertSettled();
    } finally {
      h.close();
    }
  }

  @Test
  void aClientThatLeavesMidStreamClosesTheUpstreamCall() {
    h.upstream.then(sse(HEL, LO, USAGE, DONE));
    RecordingExchange client =
        RecordingExchange.chat("gpt-4o", true).failWritesAfter(HEL.length(), false);

    h.handle(client);

    assertThat(client.text()).as("no error event for nobody").isEqualTo(HEL);
    assertThat(client.leftUnanswered()).as("the connection is closed, the stream unended").isTrue();
    assertThat(h.upstream.calls()).hasSize(1);
    assertThat(h.upstream.calls().get(0).responseClosed()).isTrue();
    RequestRecord record = h.observer.only();
    assertThat(record.outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(record.errorCode()).isEqualTo("client_closed");
    assertThat(h.consecutiveFailures("a")).as("no verdict on the deployment").isZero();
    assertThat(h.windowRequests("a")).as("it reached the upstream: counted").isEqualTo(1);
  }

  @Test
  void aWriteFailingWithAnUncheckedExceptionIsALeavingClientToo() {
    h.upstream.then(sse(HEL, LO, USAGE, DONE));
    RecordingExchange client =
        RecordingExchange.chat("gpt-4o", true).failWritesAfter(HEL.length() + 3, true);

    h.handle(client);

    assertThat(h.upstream.calls().get(0).responseClosed()).isTrue();
    assertThat(h.observer.only().outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
  }

  @Test
  void aClientGoneBeforeTheStreamBeganIsLetGo() {
    h.upstream.then(sse(HEL, DONE));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", true).failWritesAfter(0, false);

    h.handle(client);

    assertThat(h.upstream.calls().get(0).responseClosed()).isTrue();
    assertThat(h.observer.only().outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(h.upstream.calls()).hasSize(1);
  }

  @Test
  void aClientGoneWhenItsWholeAnswerIsSentStillHasItsUsageSettled() {
    h.upstream.then(
        json(
            200,
            "{\"id\":\"x\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}}"));
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false).failWritesAfter(0, true);

    h.handle(client);

    RequestRecord record = h.observer.only();
    assertThat(record.outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(record.promptTokens()).isEqualTo(9);
    assertThat(h.windowTokens("a")).isEqualTo(12);
  }

  @Test
  void aClientThatStopsReadingIsAbortedAfterTheWriteTimeout() throws Exception {
    h.upstream.then(sse(HEL, LO, USAGE, DONE));
    RecordingExchange client =
        RecordingExchange.chat("gpt-4o", true).blockWritesAfter(HEL.length());
    PipelineHarness.Running running = h.start(client);
    // The sweeper is slow: the request thread has ended before abort() returns to it. The call
    // must be cancelled (for being stalled) before the connection is aborted, or the request
    // would take itself for closed.
    client.afterAbort(
        () -> {
          try {
            running.join();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    client.awaitWriteBlocked();

    long writeTimeout = Duration.ofMillis(h.config.defaults().clientWriteTimeoutMillis()).toNanos();
    h.ticker.advanceNanos(writeTimeout - 1);
    h.watch.sweep();
    assertThat(client.aborted()).as("blocked for less than the write timeout").isFalse();
    h.ticker.advanceNanos(1);
    h.watch.sweep();
    running.join();

    assertThat(client.aborted()).isTrue();
    assertThat(client.text()).isEqualTo(HEL);
    assertThat(h.upstream.calls().get(0).responseClosed()).isTrue();
    RequestRecord record = h.observer.only();
    assertThat(record.outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(record.errorCode()).isEqualTo("client_stalled");
    assertThat(h.consecutiveFailures("a")).isZero();
  }

  @Test
  void aClientThatClosesWhileTheUpstreamThinksAbortsTheCall() throws Exception {
    h.upstream.then(ScriptedUpstream.blocksUntilCancelled());
    RecordingExchange client = RecordingExchange.chat("gpt-4o", false);
    PipelineHarness.Running running = h.start(client);
    h.upstream.awaitBlocked();

    h.watch.sweep();
    assertThat(running.thread().isAlive()).as("an open client is left alone").isTrue();
    client.leave();
    h.watch.sweep();
    running.join();

    assertThat(client.answered()).isFalse();
    RequestRecord record = h.observer.only();
    assertThat(record.outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(record.errorCode()).isEqualTo("client_closed");
    assertThat(h.consecutiveFailures("a")).as("no verdict on the deployment").isZero();
    assertThat(h.windowRequests("a")).as("it reached the upstream: counted").isEqualTo(1);
    assertThat(h.upstream.calls()).hasSize(1);
  }

  @Test
  void aQueuedRequestWhoseClientClosesLeavesTheQueueAndIsNeverSent() throws Exception {
    h.close();
    h =
        new PipelineHarness(
            """
            defaults:
              timeout_ms: 600000
            models:
              gpt-4o:
                deployments:
                  - name: a
                    base_url: http://a.upstream.test/v1
                    api_key: sk-test-a
                    rpm: 1
                    tpm: 1000000
            """);
    h.upstream.then(json(200, "{\"id\":\"x\",\"choices\":[]}"));
    h.handle(RecordingExchange.chat("gpt-4o", false)); // takes the minute's only request
    RecordingExchange second = RecordingExchange.chat("gpt-4o", false);

    PipelineHarness.Running running = h.start(second);
    PipelineHarness.await(() -> h.admissions.queued() == 1, "the second request queues");
    h.watch.sweep();
    assertThat(h.admissions.queued()).as("an open client keeps its place").isEqualTo(1);
    second.leave();
    h.watch.sweep();
    running.join();

    assertThat(h.admissions.queued()).isZero();
    assertThat(h.upstream.calls()).hasSize(1);
    assertThat(second.answered()).isFalse();
    RequestRecord record = h.observer.completed().get(1);
    assertThat(record.outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(record.errorCode()).isEqualTo("client_closed");
    assertThat(record.attempts()).isZero();
  }
}
