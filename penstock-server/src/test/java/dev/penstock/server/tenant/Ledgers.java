package dev.penstock.server.tenant;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Ledger entries and database access for the tenant tests. */
final class Ledgers {
  static final long DAY = 86_400_000L;

  /** 2025-03-01T00:00:00Z. */
  static final long MARCH_1 = Instant.parse("2025-03-01T00:00:00Z").toEpochMilli();

  private Ledgers() {}

  static LedgerEntry entry(
      long timeMillis,
      String keyId,
      String model,
      String deployment,
      long inputTokens,
      long cachedTokens,
      long outputTokens,
      double costUsd) {
    return new LedgerEntry(
        timeMillis,
        "req-" + timeMillis,
        keyId,
        model,
        deployment,
        "normal",
        200,
        inputTokens,
        cachedTokens,
        outputTokens,
        costUsd,
        3,
        250,
        1,
        "miss",
        0,
        0);
  }

  /** A numbered entry, for tests that follow entries by their request id. */
  static LedgerEntry numbered(int n) {
    return new LedgerEntry(
        MARCH_1 + n,
        "req-" + n,
        "key-a",
        "gpt-4o",
        "east",
        "normal",
        200,
        10,
        0,
        5,
        0.5,
        0,
        1,
        1,
        "",
        0,
        0);
  }

  /**
   * {@code count} seeded random entries spread over {@code days} days from {@code start}: four keys
   * (one of them open mode's ""), three models, three deployments. Costs are multiples of 1/1024,
   * exact in binary, so that sums do not depend on the order of addition and can be compared
   * exactly.
   */
  static List<LedgerEntry> random(long seed, int count, long start, int days) {
    Random random = new Random(seed);
    String[] keys = {"key-a", "key-b", "key-c", ""};
    String[] models = {"gpt-4o", "gpt-4o-mini", "o3"};
    String[] deployments = {"east", "west", "relay"};
    List<LedgerEntry> entries = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long time = start + (long) (random.nextDouble() * days * DAY);
      long input = random.nextInt(5_000);
      entries.add(
          entry(
              time,
              keys[random.nextInt(keys.length)],
              models[random.nextInt(models.length)],
              deployments[random.nextInt(deployments.length)],
              input,
              random.nextInt((int) input + 1),
              random.nextInt(2_000),
              random.nextInt(10_000) / 1024.0));
    }
    return entries;
  }

  /** A plain JDBC connection to {@code file}, beside whatever Storage has open. */
  static Connection jdbc(Path file) throws SQLException {
    return DriverManager.getConnection("jdbc:sqlite:" + file);
  }
}
