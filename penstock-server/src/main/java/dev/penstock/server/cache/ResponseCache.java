package dev.penstock.server.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.penstock.core.time.Ticker;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The exact response cache: answers by {@link Key}, in process (Caffeine, bounded by the bytes of
 * the answers it holds, each entry with its model's TTL), with the shared Redis tier behind it when
 * one is configured.
 *
 * <p>A lookup asks the process first, then Redis (bounded by its timeout; a hit there is kept in
 * the process too). A store goes to both; Redis's copy is written without waiting. Anything Redis
 * returns that is not a well-formed entry is a miss and a warning, never an answer. Thread-safe;
 * nothing here blocks longer than the Redis timeout.
 */
public final class ResponseCache implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ResponseCache.class);

  /**
   * Which cached answer: its namespace (a virtual key's id, or the shared one), public model and
   * the hash of the normalised request ({@link CacheKeys#exact}).
   */
  public record Key(String namespace, String model, String hash) {}

  /** A stored answer and how long it lives. */
  private record Entry(CachedAnswer answer, long ttlNanos) {}

  private final Cache<Key, Entry> local;
  private final @Nullable SharedTier shared;
  private final String prefix;
  private final long maxEntryBytes;
  private final AtomicLong junk = new AtomicLong();
  private final LongAdder stores = new LongAdder();

  ResponseCache(
      long maxBytes,
      long maxEntryBytes,
      Ticker ticker,
      @Nullable SharedTier shared,
      String prefix) {
    this.shared = shared;
    this.prefix = prefix;
    this.maxEntryBytes = maxEntryBytes;
    this.local =
        Caffeine.newBuilder()
            .maximumWeight(Math.max(1, maxBytes))
            .weigher((Key k, Entry e) -> e.answer().weight() + k.hash().length() + 64)
            .expireAfter(
                new Expiry<Key, Entry>() {
                  @Override
                  public long expireAfterCreate(Key key, Entry entry, long now) {
                    return entry.ttlNanos();
                  }

                  @Override
                  public long expireAfterUpdate(Key key, Entry entry, long now, long current) {
                    return entry.ttlNanos();
                  }

                  @Override
                  public long expireAfterRead(Key key, Entry entry, long now, long current) {
                    return current;
                  }
                })
            .ticker(ticker::nanos)
            .executor(Runnable::run) // evictions on the caller's thread: no pool to leave behind
            .build();
  }

  /** The cache configured by {@code settings}: in process, with Redis when it has a URL. */
  public static ResponseCache of(CacheSettings settings, Ticker ticker) {
    SharedTier shared =
        settings.redisUrl() == null
            ? null
            : new RedisTier(
                settings.redisUrl().reveal(), settings.redisTimeoutMillis(), ticker::nanos);
    return new ResponseCache(
        settings.maxBytes(), settings.maxEntryBytes(), ticker, shared, settings.redisPrefix());
  }

  /** The answer stored under {@code key}, or null. */
  public @Nullable CachedAnswer get(Key key) {
    Entry entry = local.getIfPresent(key);
    if (entry != null) {
      return entry.answer();
    }
    SharedTier tier = shared;
    if (tier == null) {
      return null;
    }
    byte[] stored = tier.get(redisKey(key));
    if (stored == null) {
      return null;
    }
    try {
      return CachedAnswer.decode(stored);
    } catch (IllegalArgumentException e) {
      junk.incrementAndGet();
      LOG.warn(
          "cache: an entry in Redis for model {} could not be read ({}); treated as a miss",
          key.model(),
          e.getMessage());
      return null;
    }
  }

  /** Keeps a hit from the shared tier in the process too, for its remaining life. */
  public void keepLocally(Key key, CachedAnswer answer, Duration ttl) {
    if (answer.body().length <= maxEntryBytes) {
      local.put(key, new Entry(answer, ttl.toNanos()));
    }
  }

  /**
   * Stores an answer for {@code ttl}; one larger than {@code cache.max_entry_bytes} is not kept.
   */
  public void put(Key key, CachedAnswer answer, Duration ttl) {
    if (answer.body().length > maxEntryBytes) {
      return;
    }
    local.put(key, new Entry(answer, ttl.toNanos()));
    stores.increment();
    SharedTier tier = shared;
    if (tier != null) {
      tier.put(redisKey(key), answer.encode(), ttl);
    }
  }

  /** Forgets {@code key} (an entry found to be unusable). */
  public void remove(Key key) {
    local.invalidate(key);
  }

  /**
   * Deletes the answers of one model, one namespace, both, or (both null) all; in Redis too.
   *
   * @return how many entries were deleted (in process, and in Redis)
   */
  public long invalidate(@Nullable String model, @Nullable String namespace) {
    long[] removed = {0};
    local
        .asMap()
        .keySet()
        .removeIf(
            k -> {
              boolean match =
                  (model == null || model.equals(k.model()))
                      && (namespace == null || namespace.equals(k.namespace()));
              if (match) {
                removed[0]++;
              }
              return match;
            });
    SharedTier tier = shared;
    if (tier != null) {
      removed[0] +=
          tier.delete(
              prefix
                  + (namespace == null ? "*" : escape(namespace))
                  + ":"
                  + (model == null ? "*" : escape(model))
                  + ":*");
    }
    return removed[0];
  }

  /** Entries held in the process. */
  public long entries() {
    return local.estimatedSize();
  }

  /** Bytes of answers held in the process (the weight Caffeine bounds). */
  public long bytes() {
    return local.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
  }

  /** The bound on {@link #bytes}. */
  public long maxBytes() {
    return local.policy().eviction().map(e -> e.getMaximum()).orElse(0L);
  }

  /** Applies a reloaded {@code cache.max_bytes}. */
  public void maxBytes(long bytes) {
    local.policy().eviction().ifPresent(e -> e.setMaximum(Math.max(1, bytes)));
  }

  /** Whether a shared tier is configured. */
  public boolean shared() {
    return shared != null;
  }

  /** Whether the shared tier answered its last calls (false when there is none). */
  public boolean sharedHealthy() {
    SharedTier tier = shared;
    return tier != null && tier.healthy();
  }

  /** Shared-tier calls that failed or timed out, and entries that could not be read. */
  public long sharedErrors() {
    SharedTier tier = shared;
    return (tier == null ? 0 : tier.errors()) + junk.get();
  }

  /** Runs pending maintenance (expiry, eviction) now; for tests and stats. */
  public void cleanUp() {
    local.cleanUp();
  }

  /** The Redis key of {@code key}: prefix, namespace, model, hash, names escaped for SCAN. */
  String redisKey(Key key) {
    return prefix + escape(key.namespace()) + ":" + escape(key.model()) + ":" + key.hash();
  }

  /** A name in a Redis key: no {@code :} (the separator) and no glob character. */
  static String escape(String name) {
    return URLEncoder.encode(name, StandardCharsets.UTF_8).replace("*", "%2A").replace(":", "%3A");
  }

  @Override
  public void close() {
    SharedTier tier = shared;
    if (tier != null) {
      tier.close();
    }
    local.invalidateAll();
  }
}
