package dev.penstock.server.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * What every {@link BatchStore} must do, whatever the database: the SQLite store runs it ({@link
 * SqlBatchStoreTest}), and so does the PostgreSQL one ({@link PostgresBatchStoreTest}).
 */
abstract class BatchStoreContractTest {
  private static final long T0 = 1_700_000_000L;

  /** A new, empty store. */
  protected abstract BatchStore store();

  private final String run = UUID.randomUUID().toString().substring(0, 8);

  private String batchId(String name) {
    return "batch_" + name + run;
  }

  private static BatchRecord batch(String id, @Nullable String owner, long createdAt) {
    return new BatchRecord(
        id,
        owner,
        "/v1/chat/completions",
        "",
        "file-in",
        "24h",
        BatchStatus.VALIDATING,
        Map.of("team", "ml"),
        List.of(),
        null,
        null,
        createdAt,
        0,
        createdAt + 86_400,
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

  private static List<BatchLine> lines(int n) {
    return IntStream.range(0, n)
        .mapToObj(i -> new BatchLine(i, "req-" + i, "{\"model\":\"m\",\"i\":" + i + "}", 0))
        .toList();
  }

  private String started(BatchStore store, String name, int lines) {
    String id = batchId(name);
    store.insertBatch(batch(id, null, T0));
    assertThat(store.startBatch(id, "gpt-4o-mini", lines(lines), T0 + 1)).isTrue();
    return id;
  }

  private static LineResult ok(int index) {
    return new LineResult(false, "{\"out\":" + index + "}", 10, 2, 5, 1);
  }

  @Test
  void aBatchIsStoredValidatingThenStartedWithItsLines() {
    BatchStore store = store();
    String id = batchId("a");
    store.insertBatch(batch(id, "key_1", T0));
    BatchRecord stored = store.batch(id).orElseThrow();
    assertThat(stored.status()).isEqualTo(BatchStatus.VALIDATING);
    assertThat(stored.ownerKeyId()).isEqualTo("key_1");
    assertThat(stored.metadata()).containsEntry("team", "ml");
    assertThat(stored.expiresAt()).isEqualTo(T0 + 86_400);
    assertThat(stored.total()).isZero();

    assertThat(store.startBatch(id, "gpt-4o-mini", lines(5), T0 + 3)).isTrue();
    BatchRecord started = store.batch(id).orElseThrow();
    assertThat(started.status()).isEqualTo(BatchStatus.IN_PROGRESS);
    assertThat(started.model()).isEqualTo("gpt-4o-mini");
    assertThat(started.inProgressAt()).isEqualTo(T0 + 3);
    assertThat(started.total()).isEqualTo(5);
    assertThat(store.counts(id)).isEqualTo(new BatchStore.LineCounts(5, 0, 0, 0));
    // Not validating any more: a second start stores nothing.
    assertThat(store.startBatch(id, "other", lines(2), T0 + 4)).isFalse();
    assertThat(store.batch(id).orElseThrow().total()).isEqualTo(5);
    assertThat(store.batch("batch_nope" + run)).isEmpty();
  }

  @Test
  void aFailingLineSourceStoresNothing() {
    BatchStore store = store();
    String id = batchId("src");
    store.insertBatch(batch(id, null, T0));
    Iterable<BatchLine> broken =
        () ->
            IntStream.range(0, 3)
                .mapToObj(
                    i -> {
                      if (i == 2) {
                        throw new IllegalStateException("the file went away");
                      }
                      return new BatchLine(i, "c" + i, "{}", 0);
                    })
                .iterator();
    assertThatThrownBy(() -> store.startBatch(id, "m", broken, T0))
        .isInstanceOf(IllegalStateException.class);
    assertThat(store.batch(id).orElseThrow().status()).isEqualTo(BatchStatus.VALIDATING);
    assertThat(store.startBatch(id, "m", lines(2), T0)).isTrue();
    assertThat(store.counts(id).total()).isEqualTo(2);
  }

  @Test
  void validationFailureRecordsTheErrors() {
    BatchStore store = store();
    String id = batchId("v");
    store.insertBatch(batch(id, null, T0));
    List<BatchRecord.BatchError> errors =
        List.of(
            new BatchRecord.BatchError("invalid_json_line", "not JSON", null, 3),
            new BatchRecord.BatchError("mismatched_model", "other model", "body.model", 7));
    assertThat(store.failValidation(id, errors, T0 + 2)).isTrue();
    BatchRecord failed = store.batch(id).orElseThrow();
    assertThat(failed.status()).isEqualTo(BatchStatus.FAILED);
    assertThat(failed.failedAt()).isEqualTo(T0 + 2);
    assertThat(failed.errors()).isEqualTo(errors);
    assertThat(store.failValidation(id, errors, T0 + 3)).isFalse();
    assertThat(store.startBatch(id, "m", lines(1), T0 + 3)).isFalse();
  }

  @Test
  void claimsTakeTheLowestPendingLinesAndCountAttempts() {
    BatchStore store = store();
    String id = started(store, "c", 10);
    List<BatchLine> first = store.claim(id, 3, 1_000, 61_000, "w1");
    assertThat(first).extracting(BatchLine::index).containsExactly(0, 1, 2);
    assertThat(first).extracting(BatchLine::attempts).containsOnly(1);
    assertThat(first.get(1).customId()).isEqualTo("req-1");
    assertThat(first.get(1).body()).isEqualTo("{\"model\":\"m\",\"i\":1}");
    List<BatchLine> second = store.claim(id, 3, 1_000, 61_000, "w2");
    assertThat(second).extracting(BatchLine::index).containsExactly(3, 4, 5);
    assertThat(store.counts(id)).isEqualTo(new BatchStore.LineCounts(4, 6, 0, 0));
    assertThat(store.claim(id, 0, 1_000, 61_000, "w3")).isEmpty();
  }

  @Test
  void onlyTheClaimTokenHolderCompletesOrReleases() {
    BatchStore store = store();
    String id = started(store, "t", 3);
    store.claim(id, 3, 1_000, 61_000, "w1");
    assertThat(store.complete(id, 0, "stale", ok(0))).isFalse();
    assertThat(store.release(id, 0, "stale", 0)).isFalse();
    assertThat(store.complete(id, 0, "w1", ok(0))).isTrue();
    // Done: not claimed any more, by anyone.
    assertThat(store.complete(id, 0, "w1", ok(0))).isFalse();
    assertThat(store.release(id, 0, "w1", 0)).isFalse();
    assertThat(store.complete(id, 1, "w1", LineResult.failure("{\"err\":1}"))).isTrue();
    assertThat(store.counts(id)).isEqualTo(new BatchStore.LineCounts(0, 1, 1, 1));
    BatchRecord b = store.batch(id).orElseThrow();
    assertThat(b.completed()).isEqualTo(1);
    assertThat(b.failed()).isEqualTo(1);
    assertThat(b.total()).isEqualTo(3);
    assertThat(b.usageInputTokens()).isEqualTo(10);
    assertThat(b.usageCachedTokens()).isEqualTo(2);
    assertThat(b.usageOutputTokens()).isEqualTo(5);
    assertThat(b.usageReasoningTokens()).isEqualTo(1);
  }

  @Test
  void anExpiredClaimIsTakenAgainAndTheStaleWorkerCannotWriteIt() {
    BatchStore store = store();
    String id = started(store, "e", 2);
    store.claim(id, 1, 1_000, 5_000, "w1");
    // Not expired yet: only line 1 is there to take.
    assertThat(store.claim(id, 5, 4_999, 10_000, "w2"))
        .extracting(BatchLine::index)
        .containsExactly(1);
    List<BatchLine> again = store.claim(id, 5, 5_000, 65_000, "w3");
    assertThat(again).extracting(BatchLine::index).containsExactly(0);
    assertThat(again.get(0).attempts()).isEqualTo(2);
    assertThat(store.complete(id, 0, "w1", ok(0))).isFalse();
    assertThat(store.complete(id, 0, "w3", ok(0))).isTrue();
    assertThat(store.counts(id)).isEqualTo(new BatchStore.LineCounts(0, 1, 1, 0));
  }

  @Test
  void releasedLinesWaitForTheirTime() {
    BatchStore store = store();
    String id = started(store, "r", 2);
    store.claim(id, 2, 1_000, 61_000, "w1");
    assertThat(store.release(id, 0, "w1", 3_000)).isTrue();
    assertThat(store.counts(id)).isEqualTo(new BatchStore.LineCounts(1, 1, 0, 0));
    assertThat(store.claim(id, 5, 2_999, 70_000, "w2")).isEmpty();
    assertThat(store.claim(id, 5, 3_000, 70_000, "w2"))
        .extracting(BatchLine::index)
        .containsExactly(0);
  }

  @Test
  void releaseAllClaimsGivesEveryClaimBack() {
    BatchStore store = store();
    String a = started(store, "ra", 3);
    String b = started(store, "rb", 3);
    store.claim(a, 2, 1_000, 61_000, "w1");
    store.claim(b, 1, 1_000, 61_000, "w1");
    store.complete(a, 0, "w1", ok(0));
    assertThat(store.releaseAllClaims()).isEqualTo(2);
    assertThat(store.counts(a)).isEqualTo(new BatchStore.LineCounts(2, 0, 1, 0));
    assertThat(store.counts(b)).isEqualTo(new BatchStore.LineCounts(3, 0, 0, 0));
    assertThat(store.complete(a, 1, "w1", ok(1))).isFalse();
    assertThat(store.releaseAllClaims()).isZero();
  }

  @Test
  void failPendingLeavesClaimedLinesToFinish() {
    BatchStore store = store();
    String id = started(store, "f", 4);
    store.claim(id, 1, 1_000, 61_000, "w1");
    List<String> seen = new ArrayList<>();
    int failed =
        store.failPending(
            id,
            line -> {
              seen.add(line.customId());
              return "{\"custom_id\":\"" + line.customId() + "\",\"error\":\"batch_cancelled\"}";
            });
    assertThat(failed).isEqualTo(3);
    assertThat(seen).containsExactly("req-1", "req-2", "req-3");
    assertThat(store.counts(id)).isEqualTo(new BatchStore.LineCounts(0, 1, 0, 3));
    assertThat(store.claim(id, 5, 1_000, 61_000, "w2")).isEmpty();
    assertThat(store.complete(id, 0, "w1", ok(0))).isTrue();
    assertThat(store.failPending(id, l -> "x")).isZero();
    assertThat(store.batch(id).orElseThrow().failed()).isEqualTo(3);
  }

  @Test
  void resultsComeInInputOrder() {
    BatchStore store = store();
    String id = started(store, "o", 6);
    store.claim(id, 6, 1_000, 61_000, "w1");
    for (int i : new int[] {5, 2, 0, 4}) {
      store.complete(id, i, "w1", ok(i));
    }
    store.complete(id, 3, "w1", LineResult.failure("{\"err\":3}"));
    store.complete(id, 1, "w1", LineResult.failure("{\"err\":1}"));
    List<String> done = new ArrayList<>();
    store.results(id, false, done::add);
    assertThat(done).containsExactly("{\"out\":0}", "{\"out\":2}", "{\"out\":4}", "{\"out\":5}");
    List<String> failed = new ArrayList<>();
    store.results(id, true, failed::add);
    assertThat(failed).containsExactly("{\"err\":1}", "{\"err\":3}");
  }

  @Test
  void transitionsRefuseTheWrongFromAndSetTheirTime() {
    BatchStore store = store();
    String id = started(store, "tr", 1);
    assertThat(store.transition(id, BatchStatus.VALIDATING, BatchStatus.CANCELLING, T0 + 5))
        .isFalse();
    assertThat(store.transition(id, BatchStatus.IN_PROGRESS, BatchStatus.CANCELLING, T0 + 5))
        .isTrue();
    assertThat(store.transition(id, BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING, T0 + 6))
        .isFalse();
    assertThat(store.transition(id, BatchStatus.CANCELLING, BatchStatus.FINALIZING, T0 + 6))
        .isTrue();
    BatchRecord b = store.batch(id).orElseThrow();
    assertThat(b.status()).isEqualTo(BatchStatus.FINALIZING);
    assertThat(b.cancellingAt()).isEqualTo(T0 + 5);
    assertThat(b.finalizingAt()).isEqualTo(T0 + 6);
    assertThat(
            store.transition(
                "batch_missing" + run, BatchStatus.IN_PROGRESS, BatchStatus.CANCELLING, T0))
        .isFalse();
  }

  @Test
  void finishRecordsTheFilesOnceAndOnlyFromFinalizing() {
    BatchStore store = store();
    String id = started(store, "fin", 1);
    FileRecord out =
        new FileRecord(BatchIds.outputFile(id), "key_9", "out.jsonl", "batch_output", 120, T0 + 9);
    assertThat(store.finish(id, BatchStatus.COMPLETED, out, null, T0 + 9)).isFalse();
    store.transition(id, BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING, T0 + 8);
    assertThat(store.finish(id, BatchStatus.COMPLETED, out, null, T0 + 9)).isTrue();
    BatchRecord b = store.batch(id).orElseThrow();
    assertThat(b.status()).isEqualTo(BatchStatus.COMPLETED);
    assertThat(b.completedAt()).isEqualTo(T0 + 9);
    assertThat(b.outputFileId()).isEqualTo(out.id());
    assertThat(b.errorFileId()).isNull();
    assertThat(store.file(out.id())).contains(out);
    assertThat(store.finish(id, BatchStatus.COMPLETED, out, null, T0 + 10)).isFalse();
    assertThat(store.unfinished()).extracting(BatchRecord::id).doesNotContain(id);
  }

  @Test
  void unfinishedListsTheBatchesStillToDrive() {
    BatchStore store = store();
    String validating = batchId("u1");
    store.insertBatch(batch(validating, null, T0));
    String running = started(store, "u2", 1);
    String failed = batchId("u3");
    store.insertBatch(batch(failed, null, T0));
    store.failValidation(failed, List.of(), T0);
    assertThat(store.unfinished())
        .extracting(BatchRecord::id)
        .containsSubsequence(validating, running)
        .doesNotContain(failed);
  }

  @Test
  void theSameLineCannotBeStoredTwice() {
    BatchStore store = store();
    String id = batchId("dup");
    store.insertBatch(batch(id, null, T0));
    List<BatchLine> twice = List.of(new BatchLine(0, "a", "{}", 0), new BatchLine(0, "b", "{}", 0));
    assertThatThrownBy(() -> store.startBatch(id, "m", twice, T0))
        .isInstanceOf(RuntimeException.class);
    assertThat(store.batch(id).orElseThrow().status()).isEqualTo(BatchStatus.VALIDATING);
    assertThat(store.counts(id).total()).isZero();
  }

  @Test
  void filesAreStoredListedAndDeleted() {
    BatchStore store = store();
    String owner = "key_" + run;
    List<FileRecord> mine = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      FileRecord f =
          new FileRecord(
              "file-" + run + i,
              owner,
              "in" + i + ".jsonl",
              i == 4 ? "batch_output" : "batch",
              100 + i,
              T0 + i);
      store.insertFile(f);
      mine.add(f);
    }
    store.insertFile(new FileRecord("file-" + run + "x", "key_other" + run, "x", "batch", 1, T0));
    assertThat(store.file(mine.get(2).id())).contains(mine.get(2));
    assertThat(store.files(owner, null, null, 100))
        .containsExactly(mine.get(4), mine.get(3), mine.get(2), mine.get(1), mine.get(0));
    assertThat(store.files(owner, "batch", null, 2)).containsExactly(mine.get(3), mine.get(2));
    assertThat(store.files(owner, "batch", mine.get(2).id(), 2))
        .containsExactly(mine.get(1), mine.get(0));
    assertThat(store.files(null, null, null, 100)).hasSizeGreaterThanOrEqualTo(6);

    assertThat(store.deleteFile(mine.get(1).id())).isTrue();
    assertThat(store.deleteFile(mine.get(1).id())).isFalse();
    assertThat(store.deleteFile("file-nope" + run)).isFalse();
    assertThat(store.file(mine.get(1).id())).isEmpty();
    assertThat(store.files(owner, null, null, 100)).doesNotContain(mine.get(1));
    // A deleted file still works as a cursor.
    assertThat(store.files(owner, null, mine.get(1).id(), 100)).containsExactly(mine.get(0));
  }

  @Test
  void batchesPageNewestFirstPerOwner() {
    BatchStore store = store();
    String owner = "key_p" + run;
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      String id = batchId("p" + i);
      store.insertBatch(batch(id, owner, T0 + i));
      ids.add(id);
    }
    store.insertBatch(batch(batchId("pother"), "key_q" + run, T0));
    assertThat(store.batches(owner, null, 2))
        .extracting(BatchRecord::id)
        .containsExactly(ids.get(4), ids.get(3));
    assertThat(store.batches(owner, ids.get(3), 2))
        .extracting(BatchRecord::id)
        .containsExactly(ids.get(2), ids.get(1));
    assertThat(store.batches(owner, ids.get(1), 2))
        .extracting(BatchRecord::id)
        .containsExactly(ids.get(0));
    assertThat(store.batches(owner, ids.get(0), 2)).isEmpty();
    assertThat(store.batches(null, null, 100))
        .extracting(BatchRecord::id)
        .contains(batchId("pother"), ids.get(0));
  }
}
