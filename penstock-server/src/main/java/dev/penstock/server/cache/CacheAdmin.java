package dev.penstock.server.cache;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.tenant.VirtualKey;
import java.util.Collection;
import org.jspecify.annotations.Nullable;

/**
 * The cache's admin API: {@code GET /admin/cache} (its state and counts) and {@code DELETE
 * /admin/cache} (all of it, or {@code ?model=}, {@code ?key=} — a virtual key's id or name — or
 * both). Names and counts only; never a cached answer, never a key.
 */
public final class CacheAdmin {
  private final CacheService cache;

  public CacheAdmin(CacheService cache) {
    this.cache = cache;
  }

  /** {@code GET /admin/cache}. */
  public ObjectNode show() {
    return json(cache.stats());
  }

  /** The state as JSON (the dashboard shows the same). */
  public static ObjectNode json(CacheService.Stats s) {
    ObjectNode out = RequestReader.JSON.createObjectNode();
    out.put("enabled", s.enabled());
    out.put("entries", s.entries());
    out.put("bytes", s.bytes());
    out.put("max_bytes", s.maxBytes());
    out.put("hits", s.hits());
    out.put("semantic_hits", s.semanticHits());
    out.put("misses", s.misses());
    out.put("bypasses", s.bypasses());
    out.put("hit_rate", s.hitRate());
    out.put("saved_tokens", s.savedTokens());
    out.put("saved_usd", s.savedUsd());
    ObjectNode semantic = out.putObject("semantic");
    semantic.put("entries", s.semanticEntries());
    semantic.put("bytes", s.semanticBytes());
    ObjectNode redis = out.putObject("redis");
    redis.put("configured", s.redis());
    redis.put("healthy", s.redisHealthy());
    redis.put("errors", s.redisErrors());
    return out;
  }

  /**
   * {@code DELETE /admin/cache}: deletes what the filters select.
   *
   * @param key a virtual key's id or name, whose namespace is emptied
   * @param keys the keys there are, to find {@code key} by name
   */
  public ObjectNode delete(
      @Nullable String model, @Nullable String key, Collection<VirtualKey> keys) {
    String namespace = null;
    if (key != null) {
      VirtualKey found =
          keys.stream()
              .filter(k -> k.id().equals(key) || k.name().equals(key))
              .findFirst()
              .orElseThrow(
                  () ->
                      new ApiError(
                          404,
                          "invalid_request_error",
                          "No virtual key has the id or name '" + key + "'.",
                          "key",
                          "key_not_found",
                          -1));
      namespace = cache.namespace(found.id());
    }
    long deleted = cache.invalidate(blankToNull(model), namespace);
    ObjectNode out = RequestReader.JSON.createObjectNode();
    out.put("deleted", deleted);
    if (model != null) {
      out.put("model", model);
    }
    if (key != null) {
      out.put("key", key);
    }
    return out;
  }

  private static @Nullable String blankToNull(@Nullable String value) {
    return value == null || value.isBlank() ? null : value;
  }
}
