package dev.penstock.server.batch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.openai.RequestReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatchRunnerTest {
  private static final long BOUND_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final long T0 = 1_750_000_000_000L;

  @TempDir Path dir;

  private final MemoryBatchStore store = new MemoryBatchStore();
  private final MutableClock clock = new MutableClock(T0);
  private DirectoryFileStore files;
  private final List<BatchRunner> runners = new ArrayList<>();
  private final List<CountDownLatch> gates = new ArrayList<>();

  @BeforeEach
  void files() throws IOException {
    files = new DirectoryFileStore(dir.resolve("files"));
  }

  @AfterEach
  void stop() {
    gates.forEach(g -> g.countDown());
    runners.forEach(r -> r.close(Duration.ofSeconds(5)));
  }

  // ---- the happy path ----

  @Test
  void everyLineIsDoneOnceAndTheOutputKeepsTheInputOrder() throws Exception {
    String id = batch(50, 0);
    Fake exec = new Fake(line -> done(id, line));
    runner(exec, 4, 32).start();

    BatchRecord b = awaitStatus(id, BatchStatus.COMPLETED);

    List<JsonNode> out = lines(BatchIds.outputFile(id));
    assertThat(out).hasSize(50);
    for (int i = 0; i < 50; i++) {
      assertThat(out.get(i).path("custom_id").asText()).isEqualTo("c" + i);
      assertThat(out.get(i).path("id").asText()).isEqualTo(BatchIds.request(id, i));
      assertThat(out.get(i).path("response").path("status_code").asInt()).isEqualTo(200);
      assertThat(out.get(i).path("error").isNull()).isTrue();
    }
    assertThat(exec.runs.values()).allMatch(n -> n.get() == 1).hasSize(50);
    assertThat(b.outputFileId()).isEqualTo(BatchIds.outputFile(id));
    assertThat(b.errorFileId()).isNull();
    assertThat(files.exists(BatchIds.errorFile(id))).isFalse();
    assertThat(b.completed()).isEqualTo(50);
    assertThat(b.usageInputTokens()).isEqualTo(50 * 10);
    assertThat(b.usageOutputTokens()).isEqualTo(50 * 3);
    assertThat(b.completedAt()).isEqualTo(T0 / 1000);
    FileRecord output = store.file(BatchIds.outputFile(id)).orElseThrow();
    assertThat(output.purpose()).isEqualTo("batch_output");
    assertThat(output.ownerKeyId()).isEqualTo("key-1");
    assertThat(output.filename()).isEqualTo(id + "_output.jsonl");
    assertThat(output.bytes()).isEqualTo(Files.size(files.path(output.id())));
    assertSettledOnce();
  }

  @Test
  void concurrencyPerBatchAndOverallIsNeverExceeded() throws Exception {
    String a = batch(30, 0);
    String b = batch(30, 0);
    CountDownLatch gate = gate();
    Fake exec =
        new Fake(
            line -> {
              await(gate);
              return new LineOutcome.Finished(
                  new LineResult(false, "{\"custom_id\":\"" + line.customId() + "\"}", 0, 0, 0, 0));
            });
    BatchRunner runner = runner(exec, 3, 4);
    runner.start();

    waitFor(() -> exec.now.get() == 4); // claimed, and each on its thread in the executor
    assertThat(runner.inFlight()).isEqualTo(4);
    assertThat(exec.nowPerBatch.get(a).get()).isEqualTo(3); // the older batch claims first
    assertThat(exec.nowPerBatch.get(b).get()).isEqualTo(1);
    gate.countDown();

    awaitStatus(a, BatchStatus.COMPLETED);
    awaitStatus(b, BatchStatus.COMPLETED);
    assertThat(exec.maxOverall.get()).isEqualTo(4);
    assertThat(exec.maxPerBatch.values()).allMatch(m -> m.get() <= 3);
    assertThat(lines(BatchIds.outputFile(a))).hasSize(30);
    assertThat(lines(BatchIds.outputFile(b))).hasSize(30);
    assertSettledOnce();
  }

  // ---- retries ----

  @Test
  void linesWithNoRoomAreReleasedAndRunAgainUntilDone() throws Exception {
    String id = batch(20, 0);
    Fake exec = new Fake(null);
    exec.behaviour =
        line ->
            exec.runs.get(line.index()).get() <= 2 ? new LineOutcome.NoCapacity(0) : done(id, line);
    runner(exec, 5, 32).start();

    BatchRecord b = awaitStatus(id, BatchStatus.COMPLETED);

    assertThat(exec.runs.values()).allMatch(n -> n.get() == 3).hasSize(20);
    assertThat(customIds(BatchIds.outputFile(id))).containsExactly(customIds(20));
    assertThat(b.errorFileId()).isNull();
    assertSettledOnce();
  }

  @Test
  void aLineTheUpstreamsKeepFailingEndsInTheErrorFileAfterItsAttempts() throws Exception {
    String id = batch(10, 0);
    Fake exec =
        new Fake(
            line ->
                line.index() % 2 == 0
                    ? new LineOutcome.ServerError(
                        LineResult.failure(
                            ResultLines.unanswered(
                                id, line, ResultLines.ATTEMPTS_EXHAUSTED, "upstream 502")),
                        0)
                    : done(id, line));
    runner(exec, 3, 32).start();

    BatchRecord b = awaitStatus(id, BatchStatus.COMPLETED);

    List<JsonNode> errors = lines(BatchIds.errorFile(id));
    assertThat(errors)
        .extracting(e -> e.path("custom_id").asText())
        .containsExactly("c0", "c2", "c4", "c6", "c8");
    assertThat(errors)
        .allMatch(e -> e.path("error").path("code").asText().equals("attempts_exhausted"));
    assertThat(customIds(BatchIds.outputFile(id))).containsExactly("c1", "c3", "c5", "c7", "c9");
    for (int i = 0; i < 10; i++) {
      assertThat(exec.runs.get(i).get()).isEqualTo(i % 2 == 0 ? BatchRunner.LINE_ATTEMPTS : 1);
    }
    assertThat(b.completed()).isEqualTo(5);
    assertThat(b.failed()).isEqualTo(5);
    assertSettledOnce();
  }

  @Test
  void aBatchWhoseEveryLineFailedIsCompletedWithOnlyAnErrorFile() throws Exception {
    String id = batch(5, 0);
    Fake exec =
        new Fake(
            line ->
                new LineOutcome.Finished(
                    LineResult.failure(
                        ResultLines.unanswered(id, line, "model_not_found", "no such model"))));
    runner(exec, 2, 32).start();

    BatchRecord b = awaitStatus(id, BatchStatus.COMPLETED);

    assertThat(b.outputFileId()).isNull();
    assertThat(files.exists(BatchIds.outputFile(id))).isFalse();
    assertThat(b.errorFileId()).isEqualTo(BatchIds.errorFile(id));
    assertThat(customIds(BatchIds.errorFile(id))).containsExactly(customIds(5));
    assertThat(store.file(BatchIds.outputFile(id))).isEmpty();
    assertThat(store.file(BatchIds.errorFile(id)).orElseThrow().filename())
        .isEqualTo(id + "_error.jsonl");
  }

  // ---- cancel and expiry ----

  @Test
  void cancelLetsTheLinesInFlightFinishAndFailsThePendingOnes() throws Exception {
    String id = batch(10, 0);
    CountDownLatch gate = gate();
    Fake exec =
        new Fake(
            line -> {
              await(gate);
              return done(id, line);
            });
    BatchRunner runner = runner(exec, 2, 32);
    runner.start();
    waitFor(() -> runner.inFlight() == 2 && exec.now.get() == 2);

    clock.advance(5_000);
    assertThat(store.transition(id, BatchStatus.IN_PROGRESS, BatchStatus.CANCELLING, 1)).isTrue();
    runner.wake();
    waitFor(() -> store.counts(id).failed() == 8);
    assertThat(store.batch(id).orElseThrow().status()).isEqualTo(BatchStatus.CANCELLING);
    gate.countDown();

    BatchRecord b = awaitStatus(id, BatchStatus.CANCELLED);
    assertThat(customIds(BatchIds.outputFile(id))).containsExactly("c0", "c1");
    List<JsonNode> errors = lines(BatchIds.errorFile(id));
    assertThat(errors).hasSize(8);
    assertThat(errors)
        .allMatch(e -> e.path("error").path("code").asText().equals("batch_cancelled"));
    assertThat(errors).allMatch(e -> e.path("response").isNull());
    assertThat(exec.runs).hasSize(2);
    assertThat(b.cancelledAt()).isEqualTo((T0 + 5_000) / 1000);
    assertSettledOnce();
  }

  @Test
  void aBatchCancelledWhileValidatingEndsCancelledWithoutFiles() {
    String id = BatchIds.batch();
    store.insertBatch(record(id, 0));
    assertThat(store.transition(id, BatchStatus.VALIDATING, BatchStatus.CANCELLING, 1)).isTrue();
    runner(new Fake(line -> done(id, line)), 2, 32).start();

    BatchRecord b = awaitStatus(id, BatchStatus.CANCELLED);
    assertThat(b.outputFileId()).isNull();
    assertThat(b.errorFileId()).isNull();
  }

  @Test
  void aBatchPastItsCompletionWindowFailsItsPendingLinesAndEndsExpired() throws Exception {
    String id = batch(10, T0 / 1000 + 3600);
    CountDownLatch gate = gate();
    Fake exec =
        new Fake(
            line -> {
              await(gate);
              return done(id, line);
            });
    BatchRunner runner = runner(exec, 2, 32);
    runner.start();
    waitFor(() -> runner.inFlight() == 2 && exec.now.get() == 2);
    assertThat(store.counts(id).failed()).isZero();

    clock.advance(3_600_000);
    runner.wake();
    waitFor(() -> store.counts(id).failed() == 8);
    gate.countDown();

    awaitStatus(id, BatchStatus.EXPIRED);
    assertThat(customIds(BatchIds.outputFile(id))).containsExactly("c0", "c1");
    assertThat(lines(BatchIds.errorFile(id)))
        .hasSize(8)
        .allMatch(e -> e.path("error").path("code").asText().equals("batch_expired"));
    assertThat(exec.runs).hasSize(2);

    // Finalized again after a restart: it still ends expired, with the same files.
    byte[] before = Files.readAllBytes(files.path(BatchIds.errorFile(id)));
    runner.close(Duration.ofSeconds(5));
    store.force(id, BatchStatus.FINALIZING);
    runner(new Fake(line -> done(id, line)), 2, 32).start();
    awaitStatus(id, BatchStatus.EXPIRED);
    assertThat(Files.readAllBytes(files.path(BatchIds.errorFile(id)))).isEqualTo(before);
  }

  // ---- restarts ----

  @Test
  void aRestartDuringFinalizingWritesTheSameFilesAgain() throws Exception {
    String id = batch(12, 0);
    Fake exec =
        new Fake(
            line ->
                line.index() % 3 == 0
                    ? new LineOutcome.Finished(
                        LineResult.failure(ResultLines.unanswered(id, line, "bad", "bad")))
                    : done(id, line));
    BatchRunner first = runner(exec, 4, 32);
    first.start();
    awaitStatus(id, BatchStatus.COMPLETED);
    first.close(Duration.ofSeconds(5));
    byte[] output = Files.readAllBytes(files.path(BatchIds.outputFile(id)));
    byte[] errors = Files.readAllBytes(files.path(BatchIds.errorFile(id)));

    // The process died while finalizing: the batch is still finalizing, a file half there.
    store.force(id, BatchStatus.FINALIZING);
    files.write(BatchIds.outputFile(id), out -> out.write(output, 0, output.length / 2));
    Fake second = new Fake(line -> done(id, line));
    runner(second, 4, 32).start();

    BatchRecord b = awaitStatus(id, BatchStatus.COMPLETED);
    assertThat(Files.readAllBytes(files.path(BatchIds.outputFile(id)))).isEqualTo(output);
    assertThat(Files.readAllBytes(files.path(BatchIds.errorFile(id)))).isEqualTo(errors);
    assertThat(b.outputFileId()).isEqualTo(BatchIds.outputFile(id));
    assertThat(b.errorFileId()).isEqualTo(BatchIds.errorFile(id));
    assertThat(second.runs).isEmpty();
    List<String> all = new ArrayList<>(customIds(BatchIds.outputFile(id)));
    all.addAll(customIds(BatchIds.errorFile(id)));
    assertThat(all).containsExactlyInAnyOrder(customIds(12));
  }

  @Test
  void afterACrashARestartRunsEveryLineToOneResultResendingAtMostTheLinesInFlight()
      throws Exception {
    String id = batch(40, 0);
    CountDownLatch never = gate();
    Fake dying =
        new Fake(
            line -> {
              if (line.index() >= 10) {
                await(never); // in flight when the process dies
              }
              return done(id, line);
            });
    BatchRunner first = runner(dying, 4, 32);
    first.start();
    waitFor(() -> store.counts(id).done() == 10 && dying.now.get() == 4);
    first.crash(); // kill -9: nothing more is written by it

    Fake fresh = new Fake(line -> done(id, line));
    runner(fresh, 4, 32).start();
    awaitStatus(id, BatchStatus.COMPLETED);
    never.countDown(); // the dead process's lines return: they must not be written
    waitFor(() -> dying.now.get() == 0);

    assertThat(customIds(BatchIds.outputFile(id))).containsExactly(customIds(40));
    long resent = fresh.runs.keySet().stream().filter(dying.runs::containsKey).count();
    assertThat(resent).isEqualTo(4).isLessThanOrEqualTo(4);
    assertThat(fresh.runs).hasSize(30);
    assertThat(store.batch(id).orElseThrow().completed()).isEqualTo(40);
  }

  @Test
  void onSharedStorageAStartingRunnerLeavesOtherInstancesClaimsUntilTheyExpire() throws Exception {
    String id = batch(10, 0);
    // Another instance, alive or not, holds lines 0-2 for a minute.
    assertThat(store.claim(id, 3, T0, T0 + 60_000, "other-instance")).hasSize(3);
    Fake exec = new Fake(line -> done(id, line));
    BatchRunner shared = runner(exec, 4, 32, true);
    shared.start();

    waitFor(() -> store.counts(id).done() == 7);
    assertThat(store.counts(id).claimed()).isEqualTo(3);
    assertThat(store.batch(id).orElseThrow().status()).isEqualTo(BatchStatus.IN_PROGRESS);
    assertThat(exec.runs.keySet()).doesNotContain(0, 1, 2);

    clock.advance(60_000); // the claims expire: this instance takes the lines over
    shared.wake();
    awaitStatus(id, BatchStatus.COMPLETED);
    assertThat(store.complete(id, 0, "other-instance", LineResult.failure("{}"))).isFalse();
    assertThat(customIds(BatchIds.outputFile(id))).containsExactly(customIds(10));
    assertThat(exec.runs.values()).allMatch(n -> n.get() == 1).hasSize(10);
  }

  @Test
  void onSharedStorageABatchAnotherInstanceIsFinalizingIsLeftToItForClaimMs() throws Exception {
    String id = batch(3, 0);
    for (BatchLine line : store.claim(id, 3, T0, T0 + 60_000, "other-instance")) {
      assertThat(
              store.complete(
                  id,
                  line.index(),
                  "other-instance",
                  ((LineOutcome.Finished) done(id, line)).result()))
          .isTrue();
    }
    assertThat(store.transition(id, BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING, T0 / 1000))
        .isTrue();
    BatchRunner shared = runner(new Fake(line -> done(id, line)), 4, 32, true);

    shared.tick(); // the other instance is writing its files
    assertThat(store.batch(id).orElseThrow().status()).isEqualTo(BatchStatus.FINALIZING);
    assertThat(files.exists(BatchIds.outputFile(id))).isFalse();

    clock.advance(900_000); // claim_ms later it may have died: this one finalizes
    shared.tick();
    assertThat(store.batch(id).orElseThrow().status()).isEqualTo(BatchStatus.COMPLETED);
    assertThat(customIds(BatchIds.outputFile(id))).containsExactly(customIds(3));
  }

  @Test
  void onSharedStorageABatchLeftValidatingForClaimMsIsValidatedAgain() {
    String id = BatchIds.batch();
    store.insertBatch(record(id, 0));
    List<String> revalidated = new ArrayList<>();
    BatchRunner shared = runner(new Fake(line -> done(id, line)), 4, 32, true);
    shared.setRevalidate(b -> revalidated.add(b.id()));
    BatchRunner single = runner(new Fake(line -> done(id, line)), 4, 32, false);
    single.setRevalidate(b -> revalidated.add("single node: " + b.id()));

    shared.tick();
    single.tick();
    assertThat(revalidated).isEmpty(); // another instance validates it now

    clock.advance(900_000);
    shared.tick();
    single.tick(); // a single node validates what it left at its start, not from here
    assertThat(revalidated).containsExactly(id);
  }

  @Test
  void closeReleasesTheClaimsOfLinesWithoutAnAnswer() throws Exception {
    String id = batch(10, 0);
    CountDownLatch never = gate();
    AtomicInteger interrupted = new AtomicInteger();
    Fake exec =
        new Fake(
            line -> {
              try {
                never.await();
              } catch (InterruptedException e) {
                interrupted.incrementAndGet();
                throw new IllegalStateException(e);
              }
              return done(id, line);
            });
    BatchRunner runner = runner(exec, 3, 32);
    runner.start();
    waitFor(() -> runner.inFlight() == 3 && exec.now.get() == 3);

    runner.close(Duration.ofMillis(50));

    BatchStore.LineCounts counts = store.counts(id);
    assertThat(counts.claimed()).isZero();
    assertThat(counts.pending()).isEqualTo(10);
    waitFor(() -> exec.now.get() == 0);
    assertThat(interrupted.get()).isEqualTo(3);
    assertSettledOnce();
    assertThat(store.settleCalls()).hasSize(3);
  }

  @Test
  void closeWaitsForTheLinesInFlightToEnd() throws Exception {
    String id = batch(6, 0);
    CountDownLatch gate = gate();
    Fake exec =
        new Fake(
            line -> {
              await(gate);
              return done(id, line);
            });
    BatchRunner runner = runner(exec, 2, 32);
    runner.start();
    waitFor(() -> runner.inFlight() == 2 && exec.now.get() == 2);

    Thread closer = Thread.ofVirtual().start(() -> runner.close(Duration.ofSeconds(10)));
    waitFor(() -> closer.getState() == Thread.State.TIMED_WAITING || !closer.isAlive());
    gate.countDown();
    closer.join(Duration.ofSeconds(10));

    assertThat(closer.isAlive()).isFalse();
    assertThat(store.counts(id).done()).isEqualTo(2);
    assertThat(store.counts(id).pending()).isEqualTo(4);
    assertThat(exec.runs).hasSize(2);
    assertSettledOnce();
  }

  // ---- progress ----

  @Test
  void linesPerMinuteIsThePaceOfTheLastMinute() throws Exception {
    String id = batch(31, 0);
    CountDownLatch gate = gate();
    Fake exec =
        new Fake(
            line -> {
              if (line.index() == 30) {
                await(gate);
              }
              clock.advance(1_000); // each line takes a second
              return done(id, line);
            });
    BatchRunner runner = runner(exec, 1, 32);
    assertThat(runner.linesPerMinute(id)).isZero();
    runner.start();
    waitFor(() -> store.counts(id).done() == 30);

    assertThat(runner.linesPerMinute(id)).isCloseTo(60.0, org.assertj.core.data.Offset.offset(3.0));
    clock.advance(61_000);
    assertThat(runner.linesPerMinute(id)).isZero();
    gate.countDown();
    awaitStatus(id, BatchStatus.COMPLETED);
  }

  // ---- harness ----

  private BatchRunner runner(LineExecutor exec, int concurrency, int max) {
    return runner(exec, concurrency, max, false);
  }

  private BatchRunner runner(LineExecutor exec, int concurrency, int max, boolean shared) {
    GatewayConfig.Batches settings =
        new GatewayConfig.Batches(concurrency, max, 900_000, 600_000, 1 << 20, 1000);
    BatchRunner r = new BatchRunner(store, files, exec, settings, clock, shared);
    runners.add(r);
    return r;
  }

  private CountDownLatch gate() {
    CountDownLatch g = new CountDownLatch(1);
    gates.add(g);
    return g;
  }

  private static void await(CountDownLatch gate) {
    try {
      if (!gate.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("gate never opened");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A batch of {@code n} lines, in progress. */
  private String batch(int n, long expiresAt) {
    String id = BatchIds.batch();
    store.insertBatch(record(id, expiresAt));
    List<BatchLine> lines = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      lines.add(new BatchLine(i, "c" + i, "{\"model\":\"gpt-4o\",\"n\":" + i + "}", 0));
    }
    assertThat(store.startBatch(id, "gpt-4o", lines, T0 / 1000)).isTrue();
    return id;
  }

  private static BatchRecord record(String id, long expiresAt) {
    return new BatchRecord(
        id,
        "key-1",
        "/v1/chat/completions",
        "",
        "file-in",
        "24h",
        BatchStatus.VALIDATING,
        Map.of(),
        List.of(),
        null,
        null,
        T0 / 1000,
        0,
        expiresAt,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0);
  }

  private static LineOutcome done(String batchId, BatchLine line) {
    JsonNode body;
    try {
      body =
          RequestReader.JSON.readTree(
              "{\"object\":\"chat.completion\",\"n\":" + line.index() + "}");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return new LineOutcome.Finished(
        new LineResult(
            false,
            ResultLines.answered(batchId, line, 200, "req_" + line.index(), body, null, null),
            10,
            0,
            3,
            0));
  }

  private BatchRecord awaitStatus(String id, BatchStatus status) {
    waitFor(() -> store.batch(id).orElseThrow().status() == status);
    return store.batch(id).orElseThrow();
  }

  private static void waitFor(BooleanSupplier condition) {
    long deadline = System.nanoTime() + BOUND_NANOS;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 10 s");
      }
      LockSupport.parkNanos(1_000_000);
    }
  }

  private List<JsonNode> lines(String fileId) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    try (InputStream in = files.open(fileId)) {
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      for (String line : text.split("\n", -1)) {
        if (!line.isEmpty()) {
          out.add(RequestReader.JSON.readTree(line));
        }
      }
      assertThat(text).endsWith("\n");
    }
    return out;
  }

  private List<String> customIds(String fileId) throws IOException {
    return lines(fileId).stream().map(l -> l.path("custom_id").asText()).toList();
  }

  private static String[] customIds(int n) {
    String[] ids = new String[n];
    for (int i = 0; i < n; i++) {
      ids[i] = "c" + i;
    }
    return ids;
  }

  /** Every claim the store handed out was completed or released exactly once. */
  private void assertSettledOnce() {
    waitFor(() -> store.settleCalls().size() == store.claims().size());
    Map<String, Integer> calls = store.settleCalls();
    assertThat(calls.keySet()).containsExactlyInAnyOrderElementsOf(store.claims());
    assertThat(calls.values()).allMatch(n -> n == 1);
  }

  /** A line executor run by a function, counting its runs and how many run at once. */
  private static final class Fake implements LineExecutor {
    interface Behaviour {
      LineOutcome apply(BatchLine line) throws InterruptedException;
    }

    volatile @Nullable Behaviour behaviour;
    final Map<Integer, AtomicInteger> runs = new ConcurrentHashMap<>();
    final AtomicInteger now = new AtomicInteger();
    final AtomicInteger maxOverall = new AtomicInteger();
    final Map<String, AtomicInteger> nowPerBatch = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> maxPerBatch = new ConcurrentHashMap<>();

    Fake(@Nullable Behaviour behaviour) {
      this.behaviour = behaviour;
    }

    @Override
    public LineOutcome run(BatchRecord batch, BatchLine line) throws InterruptedException {
      runs.computeIfAbsent(line.index(), k -> new AtomicInteger()).incrementAndGet();
      int overall = now.incrementAndGet();
      maxOverall.accumulateAndGet(overall, Math::max);
      int mine =
          nowPerBatch.computeIfAbsent(batch.id(), k -> new AtomicInteger()).incrementAndGet();
      maxPerBatch
          .computeIfAbsent(batch.id(), k -> new AtomicInteger())
          .accumulateAndGet(mine, Math::max);
      try {
        Behaviour b = behaviour;
        if (b == null) {
          throw new IllegalStateException("no behaviour");
        }
        return b.apply(line);
      } finally {
        nowPerBatch.get(batch.id()).decrementAndGet();
        now.decrementAndGet();
      }
    }
  }

  /** A clock the test moves. */
  static final class MutableClock extends Clock {
    private final AtomicLong millis;

    MutableClock(long millis) {
      this.millis = new AtomicLong(millis);
    }

    void advance(long by) {
      millis.addAndGet(by);
    }

    @Override
    public long millis() {
      return millis.get();
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis.get());
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }
}
