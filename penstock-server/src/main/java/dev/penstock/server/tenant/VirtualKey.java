package dev.penstock.server.tenant;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A virtual key as stored: its policy and identity, never the key itself — only a keyed hash of it
 * ({@code HMAC-SHA-256} with the server's secret) and the last four characters, for display.
 *
 * @param id the key's public id ({@code key_} and 24 base62 characters); what reports and the admin
 *     API name it by
 * @param name the operator's name for it (a label in metrics, bounded)
 * @param hash hex HMAC-SHA-256 of the full key under the server secret
 * @param suffix the key's last four characters
 * @param models the public models it may use; empty means all
 * @param rpm the key's own requests per minute, 0 = no limit
 * @param tpm the key's own tokens per minute, 0 = no limit
 * @param maxPriority the highest {@code x-penstock-priority} it may ask for ({@code high}, {@code
 *     normal} or {@code low}); a higher one is lowered to it, not refused
 * @param budgetUsdDaily the most it may spend in a UTC day, 0 = no budget
 * @param budgetUsdMonthly the most it may spend in a UTC calendar month, 0 = no budget
 * @param expiresAt when it stops working, or null for never
 * @param metadata the operator's free-form string pairs, in the order they were given (the admin
 *     API and {@code penstock keys show} list them so, before and after a restart)
 * @param createdAt when it was created
 * @param revokedAt when it was revoked, or null while it is live
 */
public record VirtualKey(
    String id,
    String name,
    String hash,
    String suffix,
    List<String> models,
    long rpm,
    long tpm,
    String maxPriority,
    double budgetUsdDaily,
    double budgetUsdMonthly,
    @Nullable Instant expiresAt,
    Map<String, String> metadata,
    Instant createdAt,
    @Nullable Instant revokedAt) {
  public VirtualKey {
    models = List.copyOf(models);
    // Not Map.copyOf: its iteration order changes from one JVM to the next.
    metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
  }

  /** The same key, revoked at {@code at}. */
  public VirtualKey withRevokedAt(Instant at) {
    return new VirtualKey(
        id,
        name,
        hash,
        suffix,
        models,
        rpm,
        tpm,
        maxPriority,
        budgetUsdDaily,
        budgetUsdMonthly,
        expiresAt,
        metadata,
        createdAt,
        at);
  }

  /** Whether it may be used at {@code now}: not revoked and not expired. */
  public boolean liveAt(Instant now) {
    return revokedAt == null && (expiresAt == null || now.isBefore(expiresAt));
  }
}
