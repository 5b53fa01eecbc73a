package dev.penstock.server.tenant;

import dev.penstock.server.openai.ApiError;
import java.time.Clock;
import java.time.Instant;

/**
 * Penstock as a shared gateway (SPEC 8): who may call ({@link VirtualKeys}), what each caller may
 * still spend ({@link Allowances}), what requests cost ({@link Pricing}) and where that is written
 * down ({@link LedgerWriter}). The pipeline's caller and tenant stages consult it on every request;
 * the admin API changes it. Thread-safe.
 */
public final class Tenants implements AutoCloseable {
  /** When a {@code /v1} request needs a virtual key ({@code auth:}). */
  public enum Auth {
    /** As soon as one virtual key exists; before that, open mode on loopback. */
    AUTO,
    /** Always, even before the first key exists (then every request is refused). */
    REQUIRED
  }

  private final VirtualKeys keys;
  private final Allowances allowances;
  private final LedgerRepository ledger;
  private final LedgerWriter writer;
  private final Clock clock;
  private final Storage storage;
  private volatile Auth auth;
  private volatile Pricing pricing;

  /**
   * @param storage closed last, after the ledger's writer has written everything
   * @param keyWindowNanos the window a key's RPM and TPM are counted over: a minute
   */
  public Tenants(
      VirtualKeys keys,
      LedgerRepository ledger,
      LedgerWriter writer,
      Clock clock,
      Auth auth,
      Pricing pricing,
      Storage storage,
      long keyWindowNanos) {
    this.keys = keys;
    this.ledger = ledger;
    this.writer = writer;
    this.clock = clock;
    this.auth = auth;
    this.pricing = pricing;
    this.storage = storage;
    this.allowances = new Allowances(clock, keyWindowNanos);
    Instant now = clock.instant();
    allowances.spent(
        ledger.spendByKey(Allowances.startOfDay(now).toEpochMilli()),
        ledger.spendByKey(Allowances.startOfMonth(now).toEpochMilli()));
  }

  /**
   * The key a client presents: a bearer token, else Azure's {@code api-key} header ({@code ""} for
   * none).
   */
  public static String presentedKey(String authorization, String apiKey) {
    if (authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return authorization.substring(7).trim();
    }
    return apiKey.trim();
  }

  /**
   * The answer to a missing, unknown, revoked or expired key: the client is not told which. (The
   * OpenAI SDKs raise {@code AuthenticationError} for it.)
   */
  public static ApiError invalidKey() {
    return new ApiError(
        401,
        "invalid_request_error",
        "Invalid API key: this gateway needs a Penstock virtual key, sent as 'Authorization:"
            + " Bearer pk-...' (or 'api-key: pk-...'). Ask its operator for one.",
        null,
        "invalid_api_key",
        -1);
  }

  /** Whether every {@code /v1} request needs a virtual key now. */
  public boolean authRequired() {
    return auth == Auth.REQUIRED || keys.any();
  }

  public VirtualKeys keys() {
    return keys;
  }

  public Allowances allowances() {
    return allowances;
  }

  public Pricing pricing() {
    return pricing;
  }

  public LedgerRepository ledger() {
    return ledger;
  }

  public LedgerWriter writer() {
    return writer;
  }

  public Clock clock() {
    return clock;
  }

  /** The storage everything here lives in (the Batch API's store and files too). */
  public Storage storage() {
    return storage;
  }

  /** A reloaded configuration's {@code auth:} and {@code pricing:}. */
  public void reconfigure(Auth newAuth, Pricing newPricing) {
    auth = newAuth;
    pricing = newPricing;
  }

  /** Writes out the ledger (nothing recorded is lost), then closes the storage. */
  @Override
  public void close() {
    try {
      writer.close();
    } finally {
      storage.close();
    }
  }
}
