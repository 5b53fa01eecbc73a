package dev.penstock.server.pipeline;

import dev.penstock.core.limit.DeploymentLimiter;
import dev.penstock.core.limit.WindowLimiter;
import dev.penstock.core.time.Ticker;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.OpenAiRequest;
import dev.penstock.server.telemetry.RequestRecord;
import dev.penstock.server.tenant.Allowances;
import dev.penstock.server.tenant.Price;
import dev.penstock.server.tenant.Pricing;
import dev.penstock.server.tenant.Tenants;
import dev.penstock.server.tenant.VirtualKey;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Tenant: what the caller's virtual key allows, and what the request cost.
 *
 * <ol>
 *   <li>A model the key may not use is refused with {@code 403}.
 *   <li>The key's own RPM and TPM ({@link Allowances#acquire}): over them, {@code 429
 *       rate_limit_exceeded} with {@code Retry-After}. Every answer carries the key's {@code
 *       x-ratelimit-limit/remaining/reset-requests} and {@code -tokens} headers, as OpenAI's do, so
 *       the OpenAI SDKs' own retry logic works against Penstock as it does against OpenAI.
 *   <li>Its budgets: the request's worst-case cost (prompt estimate at the input price, output cap
 *       at the output price) is held before it is sent; over budget, {@code 429 budget_exceeded}.
 *   <li>When the request ends, however it ends, its cost is computed from the real usage and the
 *       pricing table (open mode too: the ledger has every request), the hold is settled to it and
 *       the key's token charge to the real usage. A request that never reached an upstream gives
 *       its request and tokens back.
 * </ol>
 */
final class TenantStage implements Stage {
  private final Tenants tenants;
  private final Ticker ticker;

  TenantStage(Tenants tenants, Ticker ticker) {
    this.tenants = tenants;
    this.ticker = ticker;
  }

  @Override
  public void serve(ProxyCall call, Chain chain) throws InterruptedException {
    VirtualKey key = call.key();
    if (key == null) {
      try {
        chain.proceed(call);
      } finally {
        cost(call);
      }
      return;
    }
    OpenAiRequest request = call.request();
    if (!key.models().isEmpty() && !key.models().contains(request.model())) {
      throw new ApiError(
          403,
          "permission_error",
          "This key may not use the model '" + request.model() + "'.",
          "model",
          "model_not_allowed",
          -1);
    }
    long tokens = request.promptTokens() + request.outputTokens();
    long sequence = -1;
    if (key.rpm() > 0 || key.tpm() > 0) {
      WindowLimiter.Decision decision = tenants.allowances().acquire(key, ticker.nanos(), tokens);
      rateLimitHeaders(call, decision);
      if (!decision.allowed()) {
        throw overLimit(key, decision, tokens, ticker.nanos());
      }
      sequence = decision.sequence();
    }
    Allowances.@Nullable Hold hold = null;
    if (key.budgetUsdDaily() > 0 || key.budgetUsdMonthly() > 0) {
      Allowances.HoldResult result =
          tenants.allowances().hold(key, worstCase(tenants.pricing(), request));
      if (result.hold() == null) {
        if (sequence >= 0) {
          tenants.allowances().cancelCharge(key.id(), sequence);
        }
        call.callerHeader("x-should-retry", "false"); // the SDKs would retry in vain
        throw new ApiError(
            429,
            "budget_exceeded",
            "This key's "
                + result.refusedBy()
                + " budget of $"
                + usd(result.budgetUsd())
                + " is used up ($"
                + usd(result.spentUsd())
                + " spent).",
            null,
            "budget_exceeded",
            -1);
      }
      hold = result.hold();
    }
    try {
      chain.proceed(call);
    } finally {
      settle(call, key, hold, sequence);
    }
  }

  /** Ends what the request held: its budget hold (to the real cost) and its RPM/TPM charge. */
  private void settle(
      ProxyCall call, VirtualKey key, Allowances.@Nullable Hold hold, long sequence) {
    double cost = 0;
    try {
      cost = cost(call);
    } finally {
      if (hold != null) {
        hold.settle(cost);
      } else {
        tenants.allowances().spend(key.id(), cost);
      }
      if (sequence >= 0) {
        RequestRecord r = call.record();
        if (call.attempts() == 0) {
          tenants.allowances().cancelCharge(key.id(), sequence);
        } else if (r.promptTokens() >= 0) {
          tenants
              .allowances()
              .settleCharge(
                  key.id(), sequence, r.promptTokens() + Math.max(0, r.completionTokens()));
        }
      }
    }
  }

  /** Records the request's cost from its real usage, and returns it. */
  private double cost(ProxyCall call) {
    RequestRecord r = call.record();
    if (r.promptTokens() < 0 && r.completionTokens() < 0) {
      return 0;
    }
    UpstreamTarget target = call.routing().targets().get(r.deployment());
    String upstreamModel = target == null ? r.model() : target.upstreamModel();
    Price price = tenants.pricing().price(r.model(), upstreamModel).orElse(null);
    double cost =
        price == null
            ? 0
            : price.cost(
                Math.max(0, r.promptTokens()), r.cachedTokens(), Math.max(0, r.completionTokens()));
    r.cost(cost, price != null);
    return cost;
  }

  /** The most a request can cost: its prompt estimate and its whole output cap. */
  private static double worstCase(Pricing pricing, OpenAiRequest request) {
    return pricing.worstCase(
        request.model(), request.model(), request.promptTokens(), request.outputTokens());
  }

  private static void rateLimitHeaders(ProxyCall call, WindowLimiter.Decision d) {
    if (d.requestLimit() > 0) {
      call.callerHeader("x-ratelimit-limit-requests", Long.toString(d.requestLimit()));
      call.callerHeader("x-ratelimit-remaining-requests", Long.toString(d.remainingRequests()));
      call.callerHeader("x-ratelimit-reset-requests", duration(d.resetNanos()));
    }
    if (d.tokenLimit() > 0) {
      call.callerHeader("x-ratelimit-limit-tokens", Long.toString(d.tokenLimit()));
      call.callerHeader("x-ratelimit-remaining-tokens", Long.toString(d.remainingTokens()));
      call.callerHeader("x-ratelimit-reset-tokens", duration(d.resetNanos()));
    }
  }

  private static ApiError overLimit(
      VirtualKey key, WindowLimiter.Decision d, long tokens, long nowNanos) {
    if (d.retryAtNanos() == DeploymentLimiter.NEVER) {
      return new ApiError(
          429,
          "tokens",
          "Request too large for this key: it may need "
              + tokens
              + " tokens, more than the key's limit of "
              + d.tokenLimit()
              + " tokens per minute. Lower max_tokens or shorten the prompt.",
          null,
          "rate_limit_exceeded",
          -1);
    }
    long waitMillis = Math.max(1, (d.retryAtNanos() - nowNanos + 999_999) / 1_000_000);
    boolean requests = d.requestLimit() > 0 && d.remainingRequests() == 0;
    String which =
        requests
            ? "requests per min (RPM): Limit " + d.requestLimit()
            : "tokens per min (TPM): Limit " + d.tokenLimit() + ", Requested " + tokens;
    return new ApiError(
        429,
        requests ? "requests" : "tokens",
        "Rate limit reached for key '"
            + key.name()
            + "' on "
            + which
            + ". Please try again in "
            + duration(waitMillis * 1_000_000)
            + ".",
        null,
        "rate_limit_exceeded",
        waitMillis);
  }

  /** Dollars as people read them: cents, or two significant digits for less than a cent. */
  static String usd(double amount) {
    if (amount == 0 || Math.abs(amount) >= 0.01) {
      return String.format(Locale.ROOT, "%.2f", amount);
    }
    return new java.math.BigDecimal(amount)
        .round(new java.math.MathContext(2))
        .stripTrailingZeros()
        .toPlainString();
  }

  /** A duration as OpenAI writes it in its headers and messages: {@code 1m2.5s}, {@code 120ms}. */
  static String duration(long nanos) {
    long millis = Math.max(0, (nanos + 999_999) / 1_000_000);
    if (millis < 1_000) {
      return millis + "ms";
    }
    long minutes = millis / 60_000;
    double seconds = (millis % 60_000) / 1000.0;
    String s =
        seconds == Math.rint(seconds)
            ? Long.toString((long) seconds)
            : String.format(Locale.ROOT, "%.3f", seconds).replaceAll("0+$", "");
    return (minutes > 0 ? minutes + "m" : "") + s + "s";
  }
}
