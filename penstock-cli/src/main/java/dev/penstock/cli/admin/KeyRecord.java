package dev.penstock.cli.admin;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A virtual key as the admin API describes it (never with the key itself, except in the answer to
 * its creation). Read leniently: a field the gateway leaves out reads as "none" (0, empty, null),
 * so that an older or newer gateway still lists.
 */
record KeyRecord(
    String id,
    String name,
    String suffix,
    List<String> models,
    long rpm,
    long tpm,
    String maxPriority,
    BigDecimal budgetUsdDaily,
    BigDecimal budgetUsdMonthly,
    @Nullable String expiresAt,
    Map<String, String> metadata,
    String createdAt,
    @Nullable String revokedAt,
    BigDecimal spendUsdToday,
    BigDecimal spendUsdMonth) {

  static KeyRecord of(JsonNode json) {
    List<String> models = new ArrayList<>();
    json.path("models").forEach(model -> models.add(model.asText()));
    Map<String, String> metadata = new LinkedHashMap<>();
    json.path("metadata")
        .properties()
        .forEach(e -> metadata.put(e.getKey(), e.getValue().asText()));
    return new KeyRecord(
        Objects.requireNonNullElse(Formats.text(json, "id"), "?"),
        Objects.requireNonNullElse(Formats.text(json, "name"), ""),
        Objects.requireNonNullElse(Formats.text(json, "suffix"), ""),
        List.copyOf(models),
        json.path("rpm").asLong(0),
        json.path("tpm").asLong(0),
        Objects.requireNonNullElse(Formats.text(json, "max_priority"), ""),
        Formats.decimal(json.path("budget_usd_daily")),
        Formats.decimal(json.path("budget_usd_monthly")),
        Formats.text(json, "expires_at"),
        Collections.unmodifiableMap(metadata),
        Objects.requireNonNullElse(Formats.text(json, "created_at"), ""),
        Formats.text(json, "revoked_at"),
        Formats.decimal(json.path("spend_usd_today")),
        Formats.decimal(json.path("spend_usd_month")));
  }

  /** {@code revoked}, {@code expired} or {@code live}, at {@code now}. */
  String state(Instant now) {
    if (revokedAt != null) {
      return "revoked";
    }
    if (expiresAt != null) {
      try {
        if (!now.isBefore(Instant.parse(expiresAt))) {
          return "expired";
        }
      } catch (DateTimeParseException e) {
        return "live"; // the gateway decides; an expiry it wrote strangely is not ours to judge
      }
    }
    return "live";
  }

  /** What identifies the key to a person without revealing it: {@code pk-…abcd}. */
  String masked() {
    return "pk-…" + suffix;
  }

  String modelList() {
    return models.isEmpty() ? "all" : String.join(",", models);
  }
}
