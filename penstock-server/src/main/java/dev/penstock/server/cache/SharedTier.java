package dev.penstock.server.cache;

import java.time.Duration;

/**
 * A cache tier that several gateway instances share (Redis). Every call is bounded in time and
 * never throws: a tier that is down or slow is a miss, a store that did not happen, a count of 0.
 */
interface SharedTier extends AutoCloseable {
  /** The value stored under {@code key}, or null (none, or the tier could not say in time). */
  byte @org.jspecify.annotations.Nullable [] get(String key);

  /** Stores {@code value} for {@code ttl}, without waiting for the tier to confirm. */
  void put(String key, byte[] value, Duration ttl);

  /** Deletes every key matching a glob {@code pattern}; returns how many (0 when unreachable). */
  long delete(String pattern);

  /** Whether the last calls reached the tier. */
  boolean healthy();

  /** Calls that failed or timed out since the start. */
  long errors();

  @Override
  void close();
}
