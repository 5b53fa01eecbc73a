package dev.penstock.server.cache;

import dev.penstock.server.config.Secret;
import java.time.Duration;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The response cache's configuration ({@code cache:}, and {@code models.<name>.cache:} per model).
 *
 * @param enabled whether answers are cached at all ({@code cache.enabled}; also off with {@code
 *     max_bytes: 0})
 * @param maxBytes the in-process cache's bound, in bytes of answers held
 * @param ttl how long an answer is served, unless its model says otherwise
 * @param maxEntryBytes the largest answer stored (a larger one is served, not kept)
 * @param redisUrl the shared tier ({@code cache.redis_url}), or null for in-process only
 * @param redisTimeoutMillis how long a lookup waits for Redis before it is a miss
 * @param redisPrefix what every Redis key of this cache starts with
 * @param sharedNamespace whether all callers share one namespace ({@code cache.namespace: shared});
 *     by default each virtual key has its own, and no key ever sees another's answers
 * @param models per public model: its own settings
 */
public record CacheSettings(
    boolean enabled,
    long maxBytes,
    Duration ttl,
    long maxEntryBytes,
    @Nullable Secret redisUrl,
    long redisTimeoutMillis,
    String redisPrefix,
    boolean sharedNamespace,
    Map<String, ModelCache> models) {

  public static final CacheSettings DEFAULT =
      new CacheSettings(
          true,
          256L << 20,
          Duration.ofHours(1),
          4L << 20,
          null,
          50,
          "penstock:cache:",
          false,
          Map.of());

  public CacheSettings {
    models = Map.copyOf(models);
  }

  /**
   * One model's cache settings.
   *
   * @param enabled whether its answers are cached
   * @param always whether every request is cached, deterministic or not (as if it said {@code
   *     force}): for embeddings, whose answers are reproducible but say nothing about it
   * @param ttl how long they are served, or null for the cache's
   * @param semantic whether a request may be answered with the answer to a similar one
   * @param semanticThreshold the least cosine similarity of a semantic hit
   */
  public record ModelCache(
      boolean enabled,
      boolean always,
      @Nullable Duration ttl,
      boolean semantic,
      double semanticThreshold) {
    public static final double DEFAULT_THRESHOLD = 0.95;
    public static final ModelCache DEFAULT =
        new ModelCache(true, false, null, false, DEFAULT_THRESHOLD);
  }

  /** The settings of {@code model}. */
  public ModelCache model(String model) {
    return models.getOrDefault(model, ModelCache.DEFAULT);
  }

  /** How long {@code model}'s answers are served. */
  public Duration ttl(String model) {
    Duration own = model(model).ttl();
    return own != null ? own : ttl;
  }

  /** Whether {@code model}'s answers are cached. */
  public boolean caches(String model) {
    return enabled && maxBytes > 0 && model(model).enabled();
  }

  /** Whether any model has a semantic cache (and so the embedding model must be loaded). */
  public boolean anySemantic() {
    return enabled && models.values().stream().anyMatch(m -> m.enabled() && m.semantic());
  }
}
