package dev.penstock.server.pipeline;

import dev.penstock.core.queue.Priority;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.tenant.Tenants;
import dev.penstock.server.tenant.VirtualKey;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Who calls, how urgently, and by when: the caller, the {@code x-penstock-priority} and the
 * deadline ({@code x-penstock-timeout-ms}, else the configured default, counted from arrival).
 *
 * <p>Once virtual keys exist (or {@code auth: required}), the caller is the virtual key presented
 * as {@code Authorization: Bearer pk-...} or {@code api-key: pk-...}: a missing, unknown, revoked
 * or expired key is refused with {@code 401 invalid_api_key} (the client is not told which), and a
 * priority above the key's ceiling is lowered to it, not refused. The queue's fairness between
 * callers then uses the key's id.
 *
 * <p>In open mode the caller is the bearer token — hashed, so that fairness can tell callers apart
 * without the token ever being kept.
 */
final class CallerStage implements Stage {
  private final @Nullable Tenants tenants;

  /** Open mode only: no virtual keys. */
  CallerStage() {
    this(null);
  }

  CallerStage(@Nullable Tenants tenants) {
    this.tenants = tenants;
  }

  @Override
  public void serve(ProxyCall call, Chain chain) throws InterruptedException {
    ClientExchange exchange = call.exchange();
    String tenant;
    Priority priority;
    Tenants t = tenants;
    InternalCaller internal = call.internal();
    if (internal != null) {
      serveInternal(call, internal, chain);
      return;
    }
    if (t != null && t.authRequired()) {
      // The key first, as OpenAI does: a client without one learns nothing else.
      VirtualKey key =
          t.keys()
              .authenticate(
                  Tenants.presentedKey(
                      exchange.header("Authorization").orElse(""),
                      exchange.header("api-key").orElse("")))
              .orElseThrow(Tenants::invalidKey);
      call.key(key);
      call.record().key(key.id(), key.name());
      tenant = key.id();
      priority = priority(exchange);
      Priority ceiling = Priority.parse(key.maxPriority());
      if (priority.compareTo(ceiling) < 0) {
        priority = ceiling; // HIGH < NORMAL < LOW in declaration order: lowered to the ceiling
      }
    } else {
      priority = priority(exchange);
      tenant = tenant(exchange);
    }
    call.cacheDirective(cacheDirective(exchange));
    call.deadlineNanos(call.arrivedNanos() + timeoutMillis(exchange, call.routing()) * 1_000_000);
    call.caller(tenant, priority);
    call.record().caller(tenant, priority.name().toLowerCase(Locale.ROOT));
    chain.proceed(call);
  }

  /**
   * Work Penstock submits itself: its key must still be live, its priority and deadline are its
   * own, and the client-facing headers do not apply (a batch line cannot raise itself to {@code
   * high}).
   */
  private void serveInternal(ProxyCall call, InternalCaller internal, Chain chain)
      throws InterruptedException {
    String tenant = internal.tenant();
    String keyId = internal.keyId();
    Tenants t = tenants;
    if (keyId != null && t != null) {
      VirtualKey key =
          t.keys()
              .find(keyId)
              .filter(k -> k.liveAt(t.clock().instant()))
              .orElseThrow(Tenants::invalidKey);
      call.key(key);
      call.record().key(key.id(), key.name());
      tenant = key.id();
    }
    call.cacheDirective(cacheDirective(call.exchange()));
    call.deadlineNanos(call.arrivedNanos() + internal.timeoutMillis() * 1_000_000);
    call.caller(tenant, internal.priority());
    call.record().caller(tenant, internal.priority().wireName());
    chain.proceed(call);
  }

  private static Priority priority(ClientExchange exchange) {
    String value = exchange.header("x-penstock-priority").orElse("normal");
    try {
      return Priority.parse(value);
    } catch (IllegalArgumentException e) {
      throw ApiError.invalid(
          "Invalid x-penstock-priority header: expected high, normal or low.",
          "x-penstock-priority",
          "invalid_header");
    }
  }

  /** {@code x-penstock-cache} (SPEC 2): {@code no-store}, {@code no-cache} or {@code force}. */
  private static ProxyCall.CacheDirective cacheDirective(ClientExchange exchange) {
    String value = exchange.header("x-penstock-cache").orElse(null);
    if (value == null) {
      return ProxyCall.CacheDirective.DEFAULT;
    }
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "no-store" -> ProxyCall.CacheDirective.NO_STORE;
      case "no-cache" -> ProxyCall.CacheDirective.NO_CACHE;
      case "force" -> ProxyCall.CacheDirective.FORCE;
      default ->
          throw ApiError.invalid(
              "Invalid x-penstock-cache header: expected no-store, no-cache or force.",
              "x-penstock-cache",
              "invalid_header");
    };
  }

  private static long timeoutMillis(ClientExchange exchange, Pipeline.Routing routing) {
    String value = exchange.header("x-penstock-timeout-ms").orElse(null);
    if (value == null) {
      return routing.defaultTimeoutMillis();
    }
    try {
      long millis = Long.parseLong(value.trim());
      if (millis >= 1 && millis <= 86_400_000) {
        return millis;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw ApiError.invalid(
        "Invalid x-penstock-timeout-ms header: expected whole milliseconds from 1 to 86400000.",
        "x-penstock-timeout-ms",
        "invalid_header");
  }

  private static String tenant(ClientExchange exchange) {
    String credential =
        exchange.header("Authorization").or(() -> exchange.header("api-key")).orElse("");
    if (credential.isEmpty()) {
      return "anonymous";
    }
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(credential.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }
}
