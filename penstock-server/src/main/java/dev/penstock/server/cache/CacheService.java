package dev.penstock.server.cache;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.core.time.Ticker;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.Usage;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The response cache as the request path uses it: which requests it may answer and under which key
 * ({@link #plan}), lookups, stores, the counts the admin API and dashboard show, and hot reload of
 * its settings. Thread-safe.
 */
public final class CacheService implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CacheService.class);

  /** The namespace every caller shares with {@code cache.namespace: shared}, and open mode's. */
  public static final String SHARED_NAMESPACE = "shared";

  private volatile CacheSettings settings;
  private final ResponseCache exact;

  /** Loaded when a model first enables semantic caching; guarded by {@code this} while loading. */
  private volatile @Nullable SemanticCache semantic;

  private boolean semanticLoaded;
  private final LongAdder hits = new LongAdder();
  private final LongAdder semanticHits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder bypasses = new LongAdder();
  private final LongAdder savedTokens = new LongAdder();
  private final DoubleAdder savedUsd = new DoubleAdder();

  CacheService(CacheSettings settings, ResponseCache exact) {
    this.settings = settings;
    this.exact = exact;
    if (settings.anySemantic()) {
      semantic();
    }
  }

  /** The semantic cache, loading the embedding model the first time; null when there is none. */
  private @Nullable SemanticCache semantic() {
    SemanticCache loaded = semantic;
    if (loaded != null) {
      return loaded;
    }
    synchronized (this) {
      if (!semanticLoaded) {
        semanticLoaded = true;
        semantic = SemanticCache.load();
      }
      return semantic;
    }
  }

  /** The cache {@code settings} describe. */
  public static CacheService of(CacheSettings settings, Ticker ticker) {
    return new CacheService(settings, ResponseCache.of(settings, ticker));
  }

  /**
   * How a request is cached, decided once before any lookup.
   *
   * @param key its exact key
   * @param ttl how long its answer is kept
   * @param lookup whether a cached answer may answer it ({@code no-cache} says no)
   * @param semantic its semantic probe, when its model has a semantic cache
   * @param threshold the least similarity of a semantic hit
   */
  public record Plan(
      ResponseCache.Key key,
      Duration ttl,
      boolean lookup,
      SemanticCache.@Nullable Probe semantic,
      double threshold) {}

  /**
   * The plan for a request, or null when the cache stays out of it (bypass): the cache or its model
   * is off, the endpoint's answers are not reproducible, or the request is not deterministic and
   * the client did not say {@code force}.
   *
   * @param namespace whose answers it may see ({@link #namespace})
   * @param deterministic whether the request says it is ({@link
   *     dev.penstock.server.openai.OpenAiRequest#deterministic}, read when it was parsed)
   * @param lookup false for {@code x-penstock-cache: no-cache}
   * @param force true for {@code x-penstock-cache: force}
   */
  public @Nullable Plan plan(
      Endpoint endpoint,
      String model,
      byte[] body,
      boolean deterministic,
      String namespace,
      boolean lookup,
      boolean force) {
    CacheSettings s = settings;
    if (!s.caches(model) || (!force && !deterministic && !s.model(model).always())) {
      return null; // decided without parsing the body again: most requests end here
    }
    JsonNode root;
    try {
      root = RequestReader.JSON.readTree(body);
    } catch (IOException e) {
      return null; // the read stage parsed it already; never here
    }
    if (root == null || !CacheKeys.cacheable(endpoint, root)) {
      return null;
    }
    CacheSettings.ModelCache own = s.model(model);
    SemanticCache.Probe probe = null;
    if (own.semantic()) {
      SemanticCache sc = semantic();
      probe =
          sc == null ? null : sc.probe(namespace, model, endpoint, root, CacheKeys.DELIVERY_ONLY);
    }
    return new Plan(
        new ResponseCache.Key(namespace, model, CacheKeys.exact(namespace, model, endpoint, root)),
        s.ttl(model),
        lookup,
        probe,
        own.semanticThreshold());
  }

  /**
   * A semantic hit: an answer to a request whose prompt means the same.
   *
   * @param score the cosine similarity of the two prompts
   */
  public record SemanticHit(CachedAnswer answer, double score) {}

  /** The answer to a similar request, or null (no semantic cache for the model, or no match). */
  public @Nullable SemanticHit lookupSemantic(Plan plan) {
    SemanticCache sc = semantic;
    SemanticCache.Probe probe = plan.semantic();
    if (sc == null || probe == null) {
      return null;
    }
    dev.penstock.core.cache.SemanticIndex.Match match = sc.find(probe, plan.threshold());
    if (match == null) {
      return null;
    }
    ResponseCache.Key key =
        new ResponseCache.Key(plan.key().namespace(), plan.key().model(), match.entryKey());
    CachedAnswer answer = exact.get(key);
    if (answer == null) {
      sc.remove(probe, match.entryKey()); // its answer expired or was deleted
      return null;
    }
    return new SemanticHit(answer, match.score());
  }

  /** The namespace of a caller: its virtual key's, unless the operator declared one shared. */
  public String namespace(@Nullable String keyId) {
    return keyId == null || settings.sharedNamespace() ? SHARED_NAMESPACE : "key:" + keyId;
  }

  /** The cached answer for a plan, or null. A hit from Redis is kept in the process too. */
  public @Nullable CachedAnswer lookup(Plan plan) {
    CachedAnswer found = exact.get(plan.key());
    if (found != null) {
      exact.keepLocally(plan.key(), found, plan.ttl());
    }
    return found;
  }

  /** Stores a request's answer under its plan's key. Never throws. */
  public void store(Plan plan, CachedAnswer answer) {
    try {
      exact.put(plan.key(), answer, plan.ttl());
      SemanticCache sc = semantic;
      if (sc != null && plan.semantic() != null) {
        sc.put(plan.semantic(), plan.key().hash());
      }
    } catch (RuntimeException e) {
      LOG.warn("cache: could not store an answer for model {}", plan.key().model(), e);
    }
  }

  /** Forgets an entry found unusable. */
  public void forget(Plan plan) {
    exact.remove(plan.key());
  }

  /** Counts a hit (semantic or not) and what it saved. */
  public void hit(boolean semantic, Usage usage, double usd) {
    (semantic ? semanticHits : hits).increment();
    savedTokens.add(Math.max(0, usage.promptTokens()) + Math.max(0, usage.completionTokens()));
    savedUsd.add(usd);
  }

  public void missed() {
    misses.increment();
  }

  public void bypassed() {
    bypasses.increment();
  }

  /**
   * Deletes cached answers: of one model, one namespace, both, or all (both null).
   *
   * @return how many were deleted
   */
  public long invalidate(@Nullable String model, @Nullable String namespace) {
    SemanticCache sc = semantic;
    if (sc != null) {
      sc.invalidate(model, namespace);
    }
    return exact.invalidate(model, namespace);
  }

  /** The cache's state and counts since the start, for {@code /admin/cache} and the dashboard. */
  public Stats stats() {
    exact.cleanUp();
    long h = hits.sum();
    long sh = semanticHits.sum();
    long m = misses.sum();
    return new Stats(
        settings.enabled(),
        exact.entries(),
        exact.bytes(),
        exact.maxBytes(),
        h,
        sh,
        m,
        bypasses.sum(),
        h + sh + m == 0 ? 0 : (double) (h + sh) / (h + sh + m),
        savedTokens.sum(),
        savedUsd.sum(),
        exact.shared(),
        exact.sharedHealthy(),
        exact.sharedErrors(),
        semantic == null ? 0 : semantic.entries(),
        semantic == null ? 0 : semantic.bytes());
  }

  /**
   * The cache's state.
   *
   * @param hitRate hits (exact and semantic) over lookups; bypassed requests are not lookups
   */
  public record Stats(
      boolean enabled,
      long entries,
      long bytes,
      long maxBytes,
      long hits,
      long semanticHits,
      long misses,
      long bypasses,
      double hitRate,
      long savedTokens,
      double savedUsd,
      boolean redis,
      boolean redisHealthy,
      long redisErrors,
      long semanticEntries,
      long semanticBytes) {}

  /** The largest answer stored. */
  public long maxEntryBytes() {
    return settings.maxEntryBytes();
  }

  /**
   * Applies reloaded settings: models, TTLs and the bound apply at once; a changed Redis URL needs
   * a restart (said in the log).
   */
  public void reload(CacheSettings next) {
    CacheSettings before = settings;
    settings = next;
    if (next.maxBytes() != before.maxBytes()) {
      exact.maxBytes(next.maxBytes());
    }
    if (next.anySemantic()) {
      semantic(); // a model that turned semantic caching on needs the embedding model now
    }
    if (!java.util.Objects.equals(next.redisUrl(), before.redisUrl())) {
      LOG.warn("cache.redis_url changed: the new value takes effect at the next restart");
    }
  }

  public CacheSettings settings() {
    return settings;
  }

  @Override
  public void close() {
    exact.close();
    SemanticCache sc = semantic;
    if (sc != null) {
      sc.close();
    }
  }
}
