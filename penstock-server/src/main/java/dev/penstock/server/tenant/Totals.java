package dev.penstock.server.tenant;

/** Running sums of one report group or one rollup row; not thread-safe (used by one thread). */
final class Totals {
  private long requests;
  private long inputTokens;
  private long cachedTokens;
  private long outputTokens;
  private double costUsd;

  void add(long requests, long inputTokens, long cachedTokens, long outputTokens, double costUsd) {
    this.requests += requests;
    this.inputTokens += inputTokens;
    this.cachedTokens += cachedTokens;
    this.outputTokens += outputTokens;
    this.costUsd += costUsd;
  }

  void add(LedgerEntry entry) {
    add(1, entry.inputTokens(), entry.cachedTokens(), entry.outputTokens(), entry.costUsd());
  }

  long requests() {
    return requests;
  }

  long inputTokens() {
    return inputTokens;
  }

  long cachedTokens() {
    return cachedTokens;
  }

  long outputTokens() {
    return outputTokens;
  }

  double costUsd() {
    return costUsd;
  }

  UsageRow toRow(String group) {
    return new UsageRow(group, requests, inputTokens, cachedTokens, outputTokens, costUsd);
  }
}
