package dev.penstock.server.tenant;

import static dev.penstock.server.tenant.Ledgers.DAY;
import static dev.penstock.server.tenant.Ledgers.MARCH_1;
import static dev.penstock.server.tenant.Ledgers.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.server.tenant.LedgerRepository.GroupBy;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ledger on SQLite; {@link PostgresLedgerRepositoryTest} runs the same on PostgreSQL. */
class SqlLedgerRepositoryTest {
  private static final long HOUR = 3_600_000L;

  @TempDir Path dir;
  private Storage storage;
  private LedgerRepository ledger;

  /** A new, empty storage. */
  protected Storage openStorage() {
    return SqliteStorage.open(dir.resolve("penstock.db"));
  }

  /** How the storage's messages name its database. */
  protected String databaseName(Storage opened) {
    return ((SqliteStorage) opened).file().toString();
  }

  /** A plain JDBC connection to the storage's database, beside the storage's own. */
  protected Connection jdbc(Storage opened) throws SQLException {
    return Ledgers.jdbc(((SqliteStorage) opened).file());
  }

  /** After the storage is closed. */
  protected void cleanUp() {}

  @BeforeEach
  void open() {
    storage = openStorage();
    ledger = storage.ledger();
  }

  @AfterEach
  void close() {
    try {
      storage.close();
    } finally {
      cleanUp();
    }
  }

  @Test
  void aReportByDayNamesUtcDays() {
    long lastMillisOfMarch1 = Instant.parse("2025-03-01T23:59:59.999Z").toEpochMilli();
    ledger.append(
        List.of(
            entry(lastMillisOfMarch1, "key-a", "gpt-4o", "east", 100, 20, 10, 0.25),
            entry(lastMillisOfMarch1 + 1, "key-a", "gpt-4o", "east", 200, 0, 30, 0.5),
            entry(lastMillisOfMarch1 + 2, "key-b", "o3", "west", 300, 0, 50, 1.0)));
    assertThat(ledger.report(MARCH_1, MARCH_1 + 2 * DAY, GroupBy.DAY))
        .containsExactly(
            new UsageRow("2025-03-01", 1, 100, 20, 10, 0.25),
            new UsageRow("2025-03-02", 2, 500, 0, 80, 1.5));
    assertThat(ledger.report(MARCH_1, MARCH_1 + 2 * DAY, GroupBy.KEY))
        .containsExactly(
            new UsageRow("key-a", 2, 300, 20, 40, 0.75), new UsageRow("key-b", 1, 300, 0, 50, 1.0));
    // The same range with partial days at both edges: 12:00 on March 1 to 00:00:00.002 on March 2.
    assertThat(ledger.report(MARCH_1 + 12 * HOUR, lastMillisOfMarch1 + 3, GroupBy.MODEL))
        .containsExactly(
            new UsageRow("gpt-4o", 2, 300, 20, 40, 0.75), new UsageRow("o3", 1, 300, 0, 50, 1.0));
    assertThat(ledger.report(MARCH_1, MARCH_1, GroupBy.DAY)).isEmpty();
  }

  @Test
  void reportsMatchABruteForceAggregationForEveryGroupingAndRange() {
    List<LedgerEntry> entries = Ledgers.random(1, 6_000, MARCH_1, 6);
    appendInRandomGroups(entries, new Random(2));
    Random random = new Random(3);
    List<long[]> ranges = new ArrayList<>();
    ranges.add(new long[] {MARCH_1, MARCH_1 + 6 * DAY}); // whole days only
    ranges.add(new long[] {MARCH_1 - 5 * DAY, MARCH_1 + 60 * DAY}); // beyond the data
    ranges.add(new long[] {Long.MIN_VALUE, Long.MAX_VALUE});
    ranges.add(new long[] {MARCH_1 + DAY + 7, MARCH_1 + 4 * DAY - 7}); // partial at both edges
    ranges.add(new long[] {MARCH_1 + DAY, MARCH_1 + 3 * DAY + HOUR}); // partial at the end only
    ranges.add(new long[] {MARCH_1 + 2 * DAY - 1, MARCH_1 + 3 * DAY}); // partial at the start only
    ranges.add(new long[] {MARCH_1 + 2 * DAY + HOUR, MARCH_1 + 3 * DAY + HOUR}); // a midnight
    ranges.add(new long[] {MARCH_1 + 2 * DAY + HOUR, MARCH_1 + 2 * DAY + 5 * HOUR}); // in one day
    ranges.add(new long[] {MARCH_1 + 2 * DAY, MARCH_1 + 2 * DAY}); // empty
    ranges.add(new long[] {MARCH_1 + 3 * DAY, MARCH_1 + 2 * DAY}); // reversed
    for (int i = 0; i < 20; i++) {
      long from = MARCH_1 - DAY + (long) (random.nextDouble() * 8 * DAY);
      ranges.add(new long[] {from, from + (long) (random.nextDouble() * 5 * DAY)});
    }
    for (long[] range : ranges) {
      for (GroupBy groupBy : GroupBy.values()) {
        assertThat(ledger.report(range[0], range[1], groupBy))
            .as("%s from %s to %s", groupBy, range[0], range[1])
            .isEqualTo(bruteForce(entries, range[0], range[1], groupBy));
      }
    }
  }

  @Test
  void theRollupHoldsTheLedgerSummedPerDayKeyModelAndDeployment() throws SQLException {
    List<LedgerEntry> entries = Ledgers.random(4, 3_000, MARCH_1, 3);
    appendInRandomGroups(entries, new Random(5));
    Map<String, Totals> sums = new TreeMap<>();
    for (LedgerEntry e : entries) {
      String row =
          String.join(" ", DaySplit.day(e.timeMillis()), e.keyId(), e.model(), e.deployment());
      sums.computeIfAbsent(row, r -> new Totals()).add(e);
    }
    List<String> expected = new ArrayList<>();
    sums.forEach(
        (row, t) ->
            expected.add(
                row
                    + " = "
                    + List.of(
                        t.requests(),
                        t.inputTokens(),
                        t.cachedTokens(),
                        t.outputTokens(),
                        t.costUsd())));
    List<String> rollup = new ArrayList<>();
    try (Connection jdbc = jdbc(storage);
        Statement statement = jdbc.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT day, key_id, model, deployment, requests, input_tokens, cached_tokens,"
                    + " output_tokens, cost_usd FROM usage_daily"
                    + " ORDER BY day, key_id, model, deployment")) {
      while (rows.next()) {
        rollup.add(
            String.join(
                    " ", rows.getString(1), rows.getString(2), rows.getString(3), rows.getString(4))
                + " = "
                + List.of(
                    rows.getLong(5),
                    rows.getLong(6),
                    rows.getLong(7),
                    rows.getLong(8),
                    rows.getDouble(9)));
      }
    }
    assertThat(rollup).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void wholeDaysAreReadFromTheRollupAndPartialDaysFromTheRows() throws SQLException {
    ledger.append(
        List.of(
            entry(MARCH_1 + HOUR, "key-a", "gpt-4o", "east", 100, 0, 10, 1.0),
            entry(MARCH_1 + 2 * HOUR, "key-a", "gpt-4o", "east", 100, 0, 10, 1.0)));
    // Take the rows away behind the repository's back: only the rollup still knows them.
    try (Connection jdbc = jdbc(storage);
        Statement statement = jdbc.createStatement()) {
      statement.execute("DELETE FROM ledger");
    }
    assertThat(ledger.report(MARCH_1, MARCH_1 + DAY, GroupBy.KEY))
        .containsExactly(new UsageRow("key-a", 2, 200, 0, 20, 2.0));
    assertThat(ledger.report(MARCH_1, MARCH_1 + DAY - 1, GroupBy.KEY)).isEmpty();
  }

  @Test
  void spendByKeyMatchesABruteForceSum() {
    List<LedgerEntry> entries = Ledgers.random(6, 4_000, MARCH_1, 5);
    appendInRandomGroups(entries, new Random(7));
    Random random = new Random(8);
    List<Long> froms =
        new ArrayList<>(List.of(Long.MIN_VALUE, 0L, MARCH_1, MARCH_1 + 2 * DAY, MARCH_1 + 9 * DAY));
    for (int i = 0; i < 10; i++) {
      froms.add(MARCH_1 + (long) (random.nextDouble() * 5 * DAY));
    }
    for (long from : froms) {
      Map<String, Double> expected = new LinkedHashMap<>();
      for (UsageRow row : bruteForce(entries, from, Long.MAX_VALUE, GroupBy.KEY)) {
        expected.put(row.group(), row.costUsd());
      }
      assertThat(ledger.spendByKey(from)).as("from %s", from).containsExactlyEntriesOf(expected);
    }
  }

  @Test
  void aGroupIsAppendedWholeOrNotAtAll() {
    LedgerEntry good = entry(MARCH_1, "key-a", "gpt-4o", "east", 100, 0, 10, 1.0);
    LedgerEntry bad =
        new LedgerEntry(
            MARCH_1, null, "key-a", "gpt-4o", "east", "normal", 200, 1, 0, 1, 1.0, 0, 0, 1, "", 0,
            0);
    assertThatThrownBy(() -> ledger.append(List.of(good, bad)))
        .isInstanceOf(StorageException.class)
        .hasMessageStartingWith(
            "Database " + databaseName(storage) + ": appending 2 ledger entries failed");
    assertThat(ledger.report(MARCH_1, MARCH_1 + DAY, GroupBy.KEY)).isEmpty();
    assertThat(ledger.report(MARCH_1, MARCH_1 + HOUR, GroupBy.KEY)).isEmpty();
    ledger.append(List.of(good));
    assertThat(ledger.spendByKey(MARCH_1)).isEqualTo(Map.of("key-a", 1.0));
  }

  @Test
  void appendingNothingWritesNothing() {
    ledger.append(List.of());
    assertThat(ledger.report(Long.MIN_VALUE, Long.MAX_VALUE, GroupBy.DAY)).isEmpty();
    assertThat(ledger.spendByKey(Long.MIN_VALUE)).isEmpty();
  }

  /** Appends {@code entries} in groups of 1 to 500, so that the rollup adds up across appends. */
  private void appendInRandomGroups(List<LedgerEntry> entries, Random random) {
    int next = 0;
    while (next < entries.size()) {
      int size = Math.min(1 + random.nextInt(500), entries.size() - next);
      ledger.append(entries.subList(next, next + size));
      next += size;
    }
  }

  /** What a report must be, by definition: the raw entries in range, summed per group. */
  static List<UsageRow> bruteForce(List<LedgerEntry> entries, long from, long to, GroupBy groupBy) {
    Function<LedgerEntry, String> group =
        switch (groupBy) {
          case KEY -> LedgerEntry::keyId;
          case MODEL -> LedgerEntry::model;
          case DEPLOYMENT -> LedgerEntry::deployment;
          case DAY -> e -> Instant.ofEpochMilli(e.timeMillis()).toString().substring(0, 10);
        };
    Map<String, Totals> sums = new TreeMap<>();
    for (LedgerEntry e : entries) {
      if (e.timeMillis() >= from && e.timeMillis() < to) {
        sums.computeIfAbsent(group.apply(e), g -> new Totals()).add(e);
      }
    }
    return sums.entrySet().stream().map(e -> e.getValue().toRow(e.getKey())).toList();
  }
}
