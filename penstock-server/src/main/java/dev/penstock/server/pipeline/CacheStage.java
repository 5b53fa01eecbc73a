package dev.penstock.server.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.cache.CacheService;
import dev.penstock.server.cache.CachedAnswer;
import dev.penstock.server.cache.StreamForms;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.OpenAiRequest;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.Usage;
import dev.penstock.server.telemetry.RequestRecord;
import dev.penstock.server.tenant.Price;
import dev.penstock.server.tenant.Tenants;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Cache: answers a request from the response cache when it can, before any capacity is taken — a
 * hit uses no deployment, no queue slot, and works while the whole pool is saturated or every
 * circuit is open — and stores the answer of a miss once it is complete.
 *
 * <p>What the client allows ({@code x-penstock-cache}): {@code no-store} bypasses the cache, {@code
 * no-cache} skips the lookup but stores the answer, {@code force} caches a request that is not
 * deterministic. A hit is replayed in the form the client asked for: whole, or as the stream the
 * SDKs expect ({@link StreamForms}). Only a complete {@code 200} is stored: a stream that broke
 * off, an error, a client that left are not.
 *
 * <p>Placed after the tenant stage (a key still needs the model's permission and its own limits; a
 * hit gives its RPM/TPM charge back, as nothing was sent) and before the canary, so that the cache
 * answers for the model the client named.
 */
final class CacheStage implements Stage {
  private final CacheService cache;
  private final @Nullable Tenants tenants;
  private final LongSupplier wallMillis;

  CacheStage(CacheService cache, @Nullable Tenants tenants, LongSupplier wallMillis) {
    this.cache = cache;
    this.tenants = tenants;
    this.wallMillis = wallMillis;
  }

  @Override
  public void serve(ProxyCall call, Chain chain) throws InterruptedException {
    OpenAiRequest request = call.request();
    ProxyCall.CacheDirective directive = call.cacheDirective();
    CacheService.Plan plan =
        directive == ProxyCall.CacheDirective.NO_STORE
            ? null
            : cache.plan(
                request.endpoint(),
                request.model(),
                request.body(),
                request.deterministic(),
                cache.namespace(call.key() == null ? null : call.key().id()),
                directive != ProxyCall.CacheDirective.NO_CACHE,
                directive == ProxyCall.CacheDirective.FORCE);
    if (plan == null) {
      call.cacheResult(ProxyCall.CACHE_BYPASS, -1);
      cache.bypassed();
      chain.proceed(call);
      return;
    }
    if (plan.lookup()) {
      CachedAnswer found = cache.lookup(plan);
      if (found != null && found.endpoint() == request.endpoint()) {
        if (replay(call, found, "hit", -1)) {
          return;
        }
        cache.forget(plan); // unreadable: a miss, and never served again
      }
      CacheService.SemanticHit similar = cache.lookupSemantic(plan);
      if (similar != null
          && similar.answer().endpoint() == request.endpoint()
          && replay(call, similar.answer(), "semantic-hit", similar.score())) {
        return;
      }
    }
    call.cacheResult("miss", -1);
    cache.missed();
    call.exchange(
        new CapturingExchange(
            call.exchange(),
            cache.maxEntryBytes(),
            (bytes, streamed) -> store(call, plan, bytes, streamed)));
    chain.proceed(call);
  }

  /** Answers from the cache; false when the entry cannot be replayed (then it is a miss). */
  private boolean replay(ProxyCall call, CachedAnswer found, String result, double score) {
    OpenAiRequest request = call.request();
    // Embeddings have no streamed form: a request that says stream gets the whole answer.
    boolean stream = request.stream() && request.endpoint() != Endpoint.EMBEDDINGS;
    byte[] bytes;
    if (stream) {
      JsonNode whole;
      try {
        whole = RequestReader.JSON.readTree(found.body());
      } catch (IOException e) {
        return false;
      }
      bytes = StreamForms.replay(request.endpoint(), whole, request.clientWantsUsage());
    } else {
      bytes = found.body();
    }
    call.cacheResult(result, score);
    Usage usage = found.usage();
    double usd = saved(call, found, usage);
    call.record()
        .saved(Math.max(0, usage.promptTokens()) + Math.max(0, usage.completionTokens()), usd);
    cache.hit(score >= 0, usage, usd);
    Map<String, String> headers = call.answerHeaders();
    headers.put("Content-Type", stream ? "text/event-stream" : "application/json");
    try {
      if (stream) {
        try (OutputStream out = call.exchange().stream(200, headers)) {
          out.write(bytes);
          out.flush();
        }
      } else {
        call.exchange().send(200, headers, bytes);
      }
    } catch (IOException | UncheckedIOException clientGone) {
      throw new ClientGone("client_closed");
    }
    return true;
  }

  /** What a hit saved: the cached answer's usage at its model's price (0 without one). */
  private double saved(ProxyCall call, CachedAnswer found, Usage usage) {
    Tenants t = tenants;
    if (t == null || !usage.known()) {
      return 0;
    }
    Price price = t.pricing().price(call.request().model(), found.upstreamModel()).orElse(null);
    return price == null
        ? 0
        : price.cost(
            usage.promptTokens(), usage.cachedTokens(), Math.max(0, usage.completionTokens()));
  }

  /**
   * Stores a miss's complete {@code 200} answer, as it is about to reach the client: not one whose
   * attempt failed (a stream that broke off or ended with an error event says so in the record
   * before it is closed), not one whose client left.
   */
  private void store(ProxyCall call, CacheService.Plan plan, byte[] captured, boolean streamed) {
    RequestRecord record = call.record();
    if (record.errorCode() != null || call.cancel().cancelled()) {
      return;
    }
    byte[] body =
        streamed
            ? StreamForms.assemble(
                call.request().endpoint(),
                captured,
                new Usage(record.promptTokens(), record.completionTokens(), record.cachedTokens()))
            : captured;
    if (body == null) {
      return;
    }
    UpstreamTarget target = call.routing().targets().get(record.deployment());
    cache.store(
        plan,
        new CachedAnswer(
            call.request().endpoint(),
            body,
            record.deployment(),
            target == null ? record.model() : target.upstreamModel(),
            wallMillis.getAsLong()));
  }
}
