package dev.penstock.server.tenant;

import java.util.List;
import java.util.Map;

/**
 * The append-only usage ledger, and the reports read from it. Thread-safe. Appends come from one
 * writer ({@link LedgerWriter}) in groups, each group one transaction: all of it or none.
 */
public interface LedgerRepository {
  /** What a report groups by ({@code group_by=}). */
  enum GroupBy {
    KEY,
    MODEL,
    DAY,
    DEPLOYMENT
  }

  /** Appends the entries in one transaction. */
  void append(List<LedgerEntry> entries);

  /**
   * Requests, tokens and cost of the entries with {@code fromMillis <= time < toMillis}, grouped,
   * ordered by group.
   */
  List<UsageRow> report(long fromMillis, long toMillis, GroupBy groupBy);

  /** Cost per key id of the entries with {@code time >= fromMillis} (budgets, at start). */
  Map<String, Double> spendByKey(long fromMillis);
}
