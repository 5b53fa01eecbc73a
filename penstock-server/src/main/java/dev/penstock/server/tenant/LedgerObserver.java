package dev.penstock.server.tenant;

import dev.penstock.server.telemetry.RequestObserver;
import dev.penstock.server.telemetry.RequestRecord;

/**
 * Writes one ledger line per request when it ends, handed to the {@link LedgerWriter}'s queue: the
 * request's thread never waits for the database.
 */
public final class LedgerObserver implements RequestObserver {
  private final LedgerWriter writer;

  public LedgerObserver(LedgerWriter writer) {
    this.writer = writer;
  }

  @Override
  public void completed(RequestRecord r) {
    try {
      writer.record(entry(r));
    } catch (IllegalStateException closed) {
      // Only a request that outlived the shutdown's grace and ending periods gets here.
      LOG.warn("ledger closed: request {} is not in the usage ledger", r.requestId());
    }
  }

  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(LedgerObserver.class);

  /** The ledger line of a finished request. */
  static LedgerEntry entry(RequestRecord r) {
    return new LedgerEntry(
        r.startWallMillis(),
        r.requestId(),
        r.keyId(),
        r.model(),
        r.deployment(),
        r.priority(),
        r.status(),
        Math.max(0, r.promptTokens()),
        r.cachedTokens(),
        Math.max(0, r.completionTokens()),
        r.costUsd(),
        r.queueNanos() / 1_000_000,
        r.totalNanos() / 1_000_000,
        r.attempts(),
        r.cache(),
        r.savedTokens(),
        r.savedUsd());
  }
}
