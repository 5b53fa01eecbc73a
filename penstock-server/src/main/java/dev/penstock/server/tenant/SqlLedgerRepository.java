package dev.penstock.server.tenant;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The ledger in SQL: the raw rows in {@code ledger}, and their sums per UTC day, key, model and
 * deployment in {@code usage_daily}.
 *
 * <h2>Design</h2>
 *
 * <p>A report over a month must not read a month of requests. Each {@link #append} therefore sums
 * its group in Java by (day, key, model, deployment) and adds the sums to {@code usage_daily} in
 * the same transaction as the rows, one {@code INSERT ... ON CONFLICT DO UPDATE} per distinct
 * combination (a group of 500 requests is typically a handful): the rollup is never behind the
 * ledger, and never costs an update per request.
 *
 * <p>A report cuts its range at UTC midnights ({@link DaySplit}): the whole days come from the
 * rollup, the partial days at the edges from the raw rows (through the index on {@code time_ms}),
 * and the two are merged per group in Java, in one read transaction so that both see the same
 * commit. The SQL is portable (SQLite and PostgreSQL): days are computed in Java, not with SQLite's
 * date functions.
 *
 * <p>Thread-safe: appends go through the writer connection, reports through the reader.
 */
final class SqlLedgerRepository implements LedgerRepository {
  private static final String INSERT =
      "INSERT INTO ledger (time_ms, request_id, key_id, model, deployment, priority, status,"
          + " input_tokens, cached_tokens, output_tokens, cost_usd, queue_ms, latency_ms, attempts,"
          + " cache, saved_tokens, saved_usd)"
          + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

  private static final String UPSERT =
      "INSERT INTO usage_daily (day, key_id, model, deployment, requests, input_tokens,"
          + " cached_tokens, output_tokens, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
          + " ON CONFLICT (day, key_id, model, deployment) DO UPDATE SET"
          + " requests = usage_daily.requests + excluded.requests,"
          + " input_tokens = usage_daily.input_tokens + excluded.input_tokens,"
          + " cached_tokens = usage_daily.cached_tokens + excluded.cached_tokens,"
          + " output_tokens = usage_daily.output_tokens + excluded.output_tokens,"
          + " cost_usd = usage_daily.cost_usd + excluded.cost_usd";

  /** One row of the rollup: a UTC day (days since the epoch) and what is summed per day. */
  private record RollupKey(long epochDay, String keyId, String model, String deployment) {}

  private static final java.util.Comparator<RollupKey> ROLLUP_ORDER =
      java.util.Comparator.comparingLong(RollupKey::epochDay)
          .thenComparing(RollupKey::keyId)
          .thenComparing(RollupKey::model)
          .thenComparing(RollupKey::deployment);

  private final SqlDatabase writer;
  private final SqlDatabase reader;

  SqlLedgerRepository(SqlDatabase writer, SqlDatabase reader) {
    this.writer = writer;
    this.reader = reader;
  }

  @Override
  public void append(List<LedgerEntry> entries) {
    if (entries.isEmpty()) {
      return;
    }
    Map<RollupKey, Totals> rollup = rollup(entries);
    writer.write(
        "appending " + entries.size() + " ledger entries",
        connection -> {
          insertRows(connection, entries);
          addToRollup(connection, rollup);
          return null;
        });
  }

  private static Map<RollupKey, Totals> rollup(List<LedgerEntry> entries) {
    Map<RollupKey, Totals> rollup = new HashMap<>();
    for (LedgerEntry entry : entries) {
      RollupKey key =
          new RollupKey(
              Math.floorDiv(entry.timeMillis(), DaySplit.DAY_MILLIS),
              entry.keyId(),
              entry.model(),
              entry.deployment());
      rollup.computeIfAbsent(key, k -> new Totals()).add(entry);
    }
    return rollup;
  }

  private static void insertRows(Connection connection, List<LedgerEntry> entries)
      throws SQLException {
    try (PreparedStatement insert = connection.prepareStatement(INSERT)) {
      for (LedgerEntry entry : entries) {
        insert.setLong(1, entry.timeMillis());
        insert.setString(2, entry.requestId());
        insert.setString(3, entry.keyId());
        insert.setString(4, entry.model());
        insert.setString(5, entry.deployment());
        insert.setString(6, entry.priority());
        insert.setInt(7, entry.status());
        insert.setLong(8, entry.inputTokens());
        insert.setLong(9, entry.cachedTokens());
        insert.setLong(10, entry.outputTokens());
        insert.setDouble(11, entry.costUsd());
        insert.setLong(12, entry.queueMs());
        insert.setLong(13, entry.latencyMs());
        insert.setInt(14, entry.attempts());
        insert.setString(15, entry.cache());
        insert.setLong(16, entry.savedTokens());
        insert.setDouble(17, entry.savedUsd());
        insert.addBatch();
      }
      insert.executeBatch();
    }
  }

  private static void addToRollup(Connection connection, Map<RollupKey, Totals> rollup)
      throws SQLException {
    // In one order everywhere: on PostgreSQL two instances appending at once lock the rollup rows
    // they add to, and taking them in different orders could deadlock.
    List<Map.Entry<RollupKey, Totals>> rows =
        rollup.entrySet().stream().sorted(Map.Entry.comparingByKey(ROLLUP_ORDER)).toList();
    try (PreparedStatement upsert = connection.prepareStatement(UPSERT)) {
      for (Map.Entry<RollupKey, Totals> row : rows) {
        RollupKey key = row.getKey();
        Totals sums = row.getValue();
        upsert.setString(1, DaySplit.epochDayText(key.epochDay()));
        upsert.setString(2, key.keyId());
        upsert.setString(3, key.model());
        upsert.setString(4, key.deployment());
        upsert.setLong(5, sums.requests());
        upsert.setLong(6, sums.inputTokens());
        upsert.setLong(7, sums.cachedTokens());
        upsert.setLong(8, sums.outputTokens());
        upsert.setDouble(9, sums.costUsd());
        upsert.addBatch();
      }
      upsert.executeBatch();
    }
  }

  @Override
  public List<UsageRow> report(long fromMillis, long toMillis, GroupBy groupBy) {
    DaySplit split = DaySplit.of(fromMillis, toMillis);
    if (split.isEmpty()) {
      return List.of();
    }
    Map<String, Totals> groups =
        reader.read(
            "reporting usage by " + groupBy.name().toLowerCase(Locale.ROOT),
            connection -> {
              Map<String, Totals> sums = new TreeMap<>();
              if (split.hasWholeDays()) {
                addWholeDays(connection, split, groupBy, sums);
              }
              for (DaySplit.Span span : split.partialDays()) {
                addPartialDay(connection, span, groupBy, sums);
              }
              return sums;
            });
    return groups.entrySet().stream().map(e -> e.getValue().toRow(e.getKey())).toList();
  }

  private static void addWholeDays(
      Connection connection, DaySplit split, GroupBy groupBy, Map<String, Totals> sums)
      throws SQLException {
    String column = rollupColumn(groupBy);
    String sql =
        "SELECT "
            + column
            + ", SUM(requests), SUM(input_tokens), SUM(cached_tokens), SUM(output_tokens),"
            + " SUM(cost_usd) FROM usage_daily WHERE day >= ? AND day <= ? GROUP BY "
            + column;
    try (PreparedStatement query = connection.prepareStatement(sql)) {
      query.setString(1, DaySplit.day(split.wholeFromMillis()));
      // The last whole day, inclusive: the day after the last may be 10000-01-01, which has five
      // digits and would sort before every other day as text.
      query.setString(2, DaySplit.day(split.wholeToMillis() - 1));
      addSums(query, null, sums);
    }
  }

  /**
   * Adds the raw rows of one partial day. By day, the span is its own group (it lies within one
   * day), so the rows are summed without a grouping column.
   */
  private static void addPartialDay(
      Connection connection, DaySplit.Span span, GroupBy groupBy, Map<String, Totals> sums)
      throws SQLException {
    String sumsInSpan =
        "COUNT(*), SUM(input_tokens), SUM(cached_tokens), SUM(output_tokens), SUM(cost_usd)"
            + " FROM ledger WHERE time_ms >= ? AND time_ms < ?";
    String sql =
        groupBy == GroupBy.DAY
            ? "SELECT " + sumsInSpan
            : "SELECT "
                + rawColumn(groupBy)
                + ", "
                + sumsInSpan
                + " GROUP BY "
                + rawColumn(groupBy);
    try (PreparedStatement query = connection.prepareStatement(sql)) {
      query.setLong(1, span.fromMillis());
      query.setLong(2, span.toMillis());
      addSums(query, groupBy == GroupBy.DAY ? span.day() : null, sums);
    }
  }

  /**
   * Adds each row of {@code query} to its group: the group is the first column, or {@code
   * fixedGroup} when given (then the row has no group column).
   */
  private static void addSums(
      PreparedStatement query, @Nullable String fixedGroup, Map<String, Totals> sums)
      throws SQLException {
    int first = fixedGroup == null ? 2 : 1;
    try (ResultSet rows = query.executeQuery()) {
      while (rows.next()) {
        long requests = rows.getLong(first);
        if (requests == 0) {
          continue; // an aggregate without GROUP BY answers one row even for no rows
        }
        String group = fixedGroup == null ? rows.getString(1) : fixedGroup;
        sums.computeIfAbsent(group, g -> new Totals())
            .add(
                requests,
                rows.getLong(first + 1),
                rows.getLong(first + 2),
                rows.getLong(first + 3),
                rows.getDouble(first + 4));
      }
    }
  }

  private static String rollupColumn(GroupBy groupBy) {
    return switch (groupBy) {
      case DAY -> "day";
      case KEY, MODEL, DEPLOYMENT -> rawColumn(groupBy);
    };
  }

  private static String rawColumn(GroupBy groupBy) {
    return switch (groupBy) {
      case KEY -> "key_id";
      case MODEL -> "model";
      case DEPLOYMENT -> "deployment";
      case DAY -> throw new IllegalArgumentException("the ledger has no day column");
    };
  }

  @Override
  public Map<String, Double> spendByKey(long fromMillis) {
    Map<String, Double> spend = new LinkedHashMap<>();
    for (UsageRow row : report(fromMillis, DaySplit.MAX_MILLIS, GroupBy.KEY)) {
      spend.put(row.group(), row.costUsd());
    }
    return Collections.unmodifiableMap(spend);
  }
}
