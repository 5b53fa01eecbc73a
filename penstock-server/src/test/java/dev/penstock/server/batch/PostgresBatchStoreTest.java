package dev.penstock.server.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.server.tenant.PostgresStorage;
import dev.penstock.server.testing.PostgresDatabase;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The store contract on PostgreSQL, each test on a database of its own; and what only a shared
 * database has to survive: two storages (two instances) claiming the same batch's lines at once
 * never take a line twice, and both finishing it, only one does.
 */
class PostgresBatchStoreTest extends BatchStoreContractTest {
  private PostgresDatabase database;
  private final List<PostgresStorage> storages = new ArrayList<>();

  @Override
  protected BatchStore store() {
    return storage().batches();
  }

  private PostgresStorage storage() {
    if (database == null) {
      database = PostgresDatabase.create();
    }
    PostgresStorage storage = database.open();
    storages.add(storage);
    return storage;
  }

  @AfterEach
  void close() {
    storages.forEach(PostgresStorage::close);
    if (database != null) {
      database.close();
    }
  }

  private static BatchRecord validating(String id) {
    return new BatchRecord(
        id,
        null,
        "/v1/chat/completions",
        "",
        "file-in",
        "24h",
        BatchStatus.VALIDATING,
        Map.of(),
        List.of(),
        null,
        null,
        1_700_000_000L,
        0,
        1_700_086_400L,
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

  @Test
  void twoInstancesClaimingAtOnceNeverTakeALineTwice() throws Exception {
    BatchStore a = store();
    BatchStore b = storage().batches();
    int lines = 400;
    a.insertBatch(validating("batch_race"));
    assertThat(
            a.startBatch(
                "batch_race",
                "gpt-4o-mini",
                IntStream.range(0, lines)
                    .mapToObj(i -> new BatchLine(i, "c" + i, "{}", 0))
                    .toList(),
                1_700_000_001L))
        .isTrue();
    Map<Integer, String> takenBy = new ConcurrentHashMap<>();
    List<String> doubles = java.util.Collections.synchronizedList(new ArrayList<>());
    CountDownLatch go = new CountDownLatch(1);
    try (ExecutorService workers = Executors.newFixedThreadPool(8)) {
      List<Future<?>> done = new ArrayList<>();
      for (int w = 0; w < 8; w++) {
        BatchStore store = w % 2 == 0 ? a : b;
        String token = "worker-" + w;
        done.add(
            workers.submit(
                () -> {
                  go.await();
                  while (true) {
                    List<BatchLine> claimed = store.claim("batch_race", 7, 1_000, 999_999, token);
                    if (claimed.isEmpty()) {
                      return null;
                    }
                    for (BatchLine line : claimed) {
                      if (takenBy.putIfAbsent(line.index(), token) != null) {
                        doubles.add("line " + line.index());
                      }
                      assertThat(
                              store.complete(
                                  "batch_race",
                                  line.index(),
                                  token,
                                  new LineResult(
                                      false, "{\"i\":" + line.index() + "}", 1, 0, 1, 0)))
                          .isTrue();
                    }
                  }
                }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get();
      }
    }
    assertThat(doubles).isEmpty();
    assertThat(takenBy).hasSize(lines);
    assertThat(new HashSet<>(takenBy.values()).size()).isGreaterThan(1);
    assertThat(b.counts("batch_race")).isEqualTo(new BatchStore.LineCounts(0, 0, lines, 0));
    List<String> results = new ArrayList<>();
    a.results("batch_race", false, results::add);
    assertThat(results).hasSize(lines).doesNotHaveDuplicates();
    assertThat(a.batch("batch_race").orElseThrow().usageInputTokens()).isEqualTo(lines);

    // Both instances see it idle: one moves it to finalizing, one finishes it.
    Set<Boolean> moved = new HashSet<>();
    moved.add(a.transition("batch_race", BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING, 5));
    moved.add(b.transition("batch_race", BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING, 5));
    assertThat(moved).containsExactlyInAnyOrder(true, false);
    assertThat(a.finish("batch_race", BatchStatus.COMPLETED, null, null, 6)).isTrue();
    assertThat(b.finish("batch_race", BatchStatus.COMPLETED, null, null, 6)).isFalse();
  }

  @Test
  void aDeadInstancesClaimsReturnToThePoolWhenTheyExpire() {
    BatchStore dead = store();
    BatchStore alive = storage().batches();
    dead.insertBatch(validating("batch_dead"));
    dead.startBatch(
        "batch_dead",
        "m",
        IntStream.range(0, 5).mapToObj(i -> new BatchLine(i, "c" + i, "{}", 0)).toList(),
        1);
    assertThat(dead.claim("batch_dead", 3, 1_000, 2_000, "dead")).hasSize(3);
    // Before the claims expire the other instance gets only the two unclaimed lines...
    assertThat(alive.claim("batch_dead", 10, 1_500, 60_000, "alive"))
        .extracting(BatchLine::index)
        .containsExactly(3, 4);
    // ...after, the dead instance's three, and its late results are refused.
    assertThat(alive.claim("batch_dead", 10, 2_000, 60_000, "alive-2"))
        .extracting(BatchLine::index)
        .containsExactly(0, 1, 2);
    assertThat(dead.complete("batch_dead", 0, "dead", LineResult.failure("{}"))).isFalse();
    assertThat(alive.counts("batch_dead")).isEqualTo(new BatchStore.LineCounts(0, 5, 0, 0));
  }
}
