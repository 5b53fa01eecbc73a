package dev.penstock.jmh;

import dev.penstock.server.tenant.LedgerEntry;
import dev.penstock.server.tenant.LedgerRepository;
import dev.penstock.server.tenant.LedgerRepository.GroupBy;
import dev.penstock.server.tenant.LedgerWriter;
import dev.penstock.server.tenant.SqliteStorage;
import dev.penstock.server.tenant.Storage;
import dev.penstock.server.tenant.UsageRow;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The ledger's figures (docs/benchmarks.md), a plain program rather than a JMH benchmark: a
 * million-row write and a report are each one long operation, measured end to end. Run through
 * {@code scripts/ledger-bench.sh}.
 *
 * <ol>
 *   <li>Writes {@code rows} entries through a {@link LedgerWriter} with its default group size and
 *       delay, recorded by one thread as fast as it can, spread evenly over 30 UTC days (50 keys, 4
 *       models, 3 deployments), and reports the sustained rows per second up to the last commit.
 *   <li>Reopens the database (a full {@code PRAGMA quick_check} of it included).
 *   <li>Times {@code report()} for each grouping over the whole range (whole days: the rollup only)
 *       and over a range with partial days at both edges (the rollup plus two days of raw rows),
 *       warm: the median of 5 runs after 3 unmeasured ones. For comparison it times the same report
 *       summed from the raw rows alone, which is what a ledger without the rollup does.
 * </ol>
 */
public final class LedgerBench {
  private static final long DAY = 86_400_000L;
  private static final int DAYS = 30;

  /** 2025-03-01T00:00:00Z. */
  private static final long START = 1_740_787_200_000L;

  private LedgerBench() {}

  /** Runs the bench: {@code args} are the database file (must not exist) and the row count. */
  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: LedgerBench <new database file> [rows]");
      System.exit(2);
    }
    Path file = Path.of(args[0]);
    int rows = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
    System.out.printf(
        Locale.ROOT,
        "ledger bench: %,d rows over %d days, %d cores, %s%n",
        rows,
        DAYS,
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.version"));
    write(file, rows);
    long openStart = System.nanoTime();
    try (Storage storage = SqliteStorage.open(file)) {
      System.out.printf(
          Locale.ROOT,
          "reopen (quick_check included): %.0f ms, file %,d MB%n",
          millisSince(openStart),
          Files.size(file) >> 20);
      reports(storage.ledger(), file);
    }
  }

  private static void write(Path file, int rows) {
    try (Storage storage = SqliteStorage.open(file)) {
      SplittableRandom random = new SplittableRandom(1);
      String[] models = {"gpt-4o", "gpt-4o-mini", "o3", "text-embedding-3-small"};
      String[] deployments = {"east", "west", "relay"};
      long step = DAYS * DAY / rows;
      long writeStart = System.nanoTime();
      LedgerWriter writer = new LedgerWriter(storage.ledger());
      for (int i = 0; i < rows; i++) {
        long input = random.nextInt(4_000);
        writer.record(
            new LedgerEntry(
                START + i * step,
                "req-" + i,
                "key_" + random.nextInt(50),
                models[random.nextInt(models.length)],
                deployments[random.nextInt(deployments.length)],
                "normal",
                200,
                input,
                random.nextLong(input + 1),
                random.nextInt(1_000),
                random.nextInt(10_000) / 1e5,
                random.nextInt(50),
                200 + random.nextInt(3_000),
                1,
                "miss",
                0,
                0));
      }
      double recordMillis = millisSince(writeStart);
      writer.close(); // commits everything recorded
      double totalMillis = millisSince(writeStart);
      System.out.printf(
          Locale.ROOT,
          "write: %,d rows in %.2f s = %,.0f rows/s sustained (%,d transactions, %.0f rows each;"
              + " recording alone took %.2f s)%n",
          writer.rowsWritten(),
          totalMillis / 1_000,
          writer.rowsWritten() / (totalMillis / 1_000),
          writer.groupsWritten(),
          (double) writer.rowsWritten() / writer.groupsWritten(),
          recordMillis / 1_000);
    }
  }

  private static void reports(LedgerRepository ledger, Path file) throws SQLException {
    long wholeFrom = START;
    long wholeTo = START + DAYS * DAY;
    long edgeFrom = START + 7 * 3_600_000L + 13 * 60_000L; // 07:13 on the first day
    long edgeTo = START + (DAYS - 1) * DAY + 17 * 3_600_000L; // 17:00 on the last day
    System.out.println("report (warm, median of 5 [min-max]):");
    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file)) {
      for (GroupBy groupBy : GroupBy.values()) {
        time(groupBy + ", 30 whole days", () -> ledger.report(wholeFrom, wholeTo, groupBy));
        time(groupBy + ", partial edge days", () -> ledger.report(edgeFrom, edgeTo, groupBy));
        if (groupBy != GroupBy.DAY) {
          time(
              groupBy + ", partial edge days, raw rows only (no rollup)",
              () -> rawReport(raw, edgeFrom, edgeTo, groupBy));
        }
      }
      time(
          "spendByKey from 07:13 on the first day",
          () -> List.copyOf(ledger.spendByKey(edgeFrom).keySet()));
    }
  }

  private static void time(String what, Supplier<List<?>> report) {
    double[] millis = new double[5];
    int groups = 0;
    for (int i = -3; i < millis.length; i++) { // three unmeasured runs first
      long start = System.nanoTime();
      groups = report.get().size();
      if (i >= 0) {
        millis[i] = millisSince(start);
      }
    }
    Arrays.sort(millis);
    System.out.printf(
        Locale.ROOT,
        "  %-55s %8.1f ms [%.1f-%.1f] (%d groups)%n",
        what,
        millis[2],
        millis[0],
        millis[4],
        groups);
  }

  /** The report without the rollup: every row in range summed by SQLite. */
  private static List<UsageRow> rawReport(Connection raw, long from, long to, GroupBy groupBy) {
    String column =
        switch (groupBy) {
          case KEY -> "key_id";
          case MODEL -> "model";
          case DEPLOYMENT -> "deployment";
          case DAY -> throw new IllegalArgumentException("by day needs a date function");
        };
    try (PreparedStatement query =
        raw.prepareStatement(
            "SELECT "
                + column
                + ", COUNT(*), SUM(input_tokens), SUM(cached_tokens), SUM(output_tokens),"
                + " SUM(cost_usd) FROM ledger WHERE time_ms >= ? AND time_ms < ? GROUP BY "
                + column
                + " ORDER BY "
                + column)) {
      query.setLong(1, from);
      query.setLong(2, to);
      List<UsageRow> rows = new ArrayList<>();
      try (ResultSet result = query.executeQuery()) {
        while (result.next()) {
          rows.add(
              new UsageRow(
                  result.getString(1),
                  result.getLong(2),
                  result.getLong(3),
                  result.getLong(4),
                  result.getLong(5),
                  result.getDouble(6)));
        }
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static double millisSince(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e6;
  }
}
