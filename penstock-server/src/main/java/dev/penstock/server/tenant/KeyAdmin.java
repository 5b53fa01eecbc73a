package dev.penstock.server.tenant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.server.openai.ApiError;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The admin API's virtual keys and usage (SPEC 8): JSON in, JSON out, every bad field refused with
 * {@code 400} naming it. Records never carry the key or its hash, only the last four characters;
 * the key itself is in the answer to its creation, once.
 */
public final class KeyAdmin {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> FIELDS =
      Set.of(
          "name",
          "models",
          "rpm",
          "tpm",
          "max_priority",
          "budget_usd_daily",
          "budget_usd_monthly",
          "expires_at",
          "metadata");

  /** OpenAI's own metadata limits: 16 pairs, keys up to 64 characters, values up to 512. */
  static final int MAX_METADATA_PAIRS = 16;

  static final int MAX_METADATA_KEY = 64;
  static final int MAX_METADATA_VALUE = 512;
  static final int MAX_MODELS = 256;

  private final Tenants tenants;

  public KeyAdmin(Tenants tenants) {
    this.tenants = tenants;
  }

  /** {@code POST /admin/keys}: the new key's record, with the key itself, this once. */
  public ObjectNode create(byte[] body) {
    JsonNode json = object(body);
    if (!json.hasNonNull("name")) {
      throw bad(
          "'name' is required: a name for the key, such as the service that will use it.", "name");
    }
    Instant now = tenants.clock().instant();
    VirtualKey template =
        apply(
            new VirtualKey(
                "", "", "", "", List.of(), 0, 0, "high", 0, 0, null, Map.of(), now, null),
            json,
            now);
    VirtualKeys.Created created = tenants.keys().create(template);
    ObjectNode view = view(created.record());
    view.put("key", created.key());
    return view;
  }

  /** {@code GET /admin/keys}. */
  public ObjectNode list() {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    for (VirtualKey key : tenants.keys().all()) {
      data.add(view(key));
    }
    return root;
  }

  /** {@code GET /admin/keys/{id}}. */
  public ObjectNode show(String id) {
    return view(tenants.keys().find(id).orElseThrow(() -> unknown(id)));
  }

  /** {@code PATCH /admin/keys/{id}}: the fields given change, at once; the others stay. */
  public ObjectNode update(String id, byte[] body) {
    JsonNode json = object(body);
    Instant now = tenants.clock().instant();
    return view(
        tenants.keys().update(id, old -> apply(old, json, now)).orElseThrow(() -> unknown(id)));
  }

  /** {@code DELETE /admin/keys/{id}}: revoked at once; the record, with {@code revoked_at}. */
  public ObjectNode revoke(String id) {
    return view(tenants.keys().revoke(id).orElseThrow(() -> unknown(id)));
  }

  /**
   * {@code GET /admin/usage?from=&to=&group_by=}: requests, tokens and cost of the ledger's
   * requests in {@code [from, to)}. {@code from} and {@code to} are dates ({@code 2026-12-01}, a
   * whole UTC day; {@code to} inclusive) or instants; by default this UTC month up to now.
   */
  public ObjectNode usage(@Nullable String from, @Nullable String to, @Nullable String groupBy) {
    Instant now = tenants.clock().instant();
    Instant start =
        from == null || from.isBlank() ? Allowances.startOfMonth(now) : time(from, "from", false);
    Instant end = to == null || to.isBlank() ? now.plusMillis(1) : time(to, "to", true);
    if (!end.isAfter(start)) {
      throw bad("'to' must be after 'from'.", "to");
    }
    LedgerRepository.GroupBy group;
    try {
      group =
          LedgerRepository.GroupBy.valueOf(
              (groupBy == null || groupBy.isBlank() ? "key" : groupBy).toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw bad("'group_by' must be key, model, day or deployment.", "group_by");
    }
    try {
      // A report right after requests includes them; a failing store does not hang the report.
      if (!tenants.writer().flush(java.time.Duration.ofSeconds(5))) {
        throw new ApiError(
            503,
            "server_error",
            "The usage ledger is not being written (see the gateway's log); try again later.",
            null,
            "ledger_unavailable",
            5_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiError(503, "server_error", "Interrupted.", null, "shutting_down", 1_000);
    }
    List<UsageRow> rows = tenants.ledger().report(start.toEpochMilli(), end.toEpochMilli(), group);
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put("object", "list");
    root.put("group_by", group.name().toLowerCase(Locale.ROOT));
    root.put("from", start.toString());
    root.put("to", end.toString());
    ArrayNode data = root.putArray("data");
    for (UsageRow row : rows) {
      ObjectNode r = data.addObject();
      r.put("group", row.group());
      if (group == LedgerRepository.GroupBy.KEY) {
        r.put("name", tenants.keys().find(row.group()).map(VirtualKey::name).orElse(""));
      }
      r.put("requests", row.requests());
      r.put("input_tokens", row.inputTokens());
      r.put("cached_tokens", row.cachedTokens());
      r.put("output_tokens", row.outputTokens());
      r.put("cost_usd", row.costUsd());
    }
    return root;
  }

  private static Instant time(String text, String field, boolean endOfDay) {
    try {
      if (text.length() == 10) {
        LocalDate day = LocalDate.parse(text);
        return (endOfDay ? day.plusDays(1) : day).atStartOfDay(ZoneOffset.UTC).toInstant();
      }
      return Instant.parse(text);
    } catch (DateTimeParseException e) {
      throw bad(
          "'" + field + "' must be a date (2026-12-01) or an instant (2026-12-01T12:00:00Z).",
          field);
    }
  }

  /** A key's record as the admin API shows it: never the key or its hash. */
  public ObjectNode view(VirtualKey key) {
    Instant now = tenants.clock().instant();
    ObjectNode v = JsonNodeFactory.instance.objectNode();
    v.put("id", key.id());
    v.put("object", "virtual_key");
    v.put("name", key.name());
    v.put("suffix", key.suffix());
    v.put("display", VirtualKeys.PREFIX + "..." + key.suffix());
    ArrayNode models = v.putArray("models");
    key.models().forEach(models::add);
    v.put("rpm", key.rpm());
    v.put("tpm", key.tpm());
    v.put("max_priority", key.maxPriority());
    v.put("budget_usd_daily", key.budgetUsdDaily());
    v.put("budget_usd_monthly", key.budgetUsdMonthly());
    v.put("expires_at", key.expiresAt() == null ? null : key.expiresAt().toString());
    ObjectNode metadata = v.putObject("metadata");
    key.metadata().forEach(metadata::put);
    v.put("created_at", key.createdAt().toString());
    v.put("revoked_at", key.revokedAt() == null ? null : key.revokedAt().toString());
    v.put("state", key.revokedAt() != null ? "revoked" : key.liveAt(now) ? "live" : "expired");
    v.put("spend_usd_today", tenants.allowances().spentToday(key.id()));
    v.put("spend_usd_month", tenants.allowances().spentThisMonth(key.id()));
    return v;
  }

  /** {@code base} with the fields {@code json} gives, each checked. */
  private static VirtualKey apply(VirtualKey base, JsonNode json, Instant now) {
    Iterator<String> names = json.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        throw bad(
            "Unknown field '"
                + printable(name)
                + "'; known: "
                + String.join(", ", FIELDS.stream().sorted().toList())
                + ".",
            printable(name));
      }
    }
    String name = base.name();
    if (json.has("name")) {
      JsonNode n = json.get("name");
      if (!n.isTextual()
          || n.asText().isBlank()
          || n.asText().length() > 64
          || !clean(n.asText())) {
        throw bad("'name' must be text of 1 to 64 printable characters.", "name");
      }
      name = n.asText().trim();
    }
    List<String> models = base.models();
    if (json.has("models")) {
      JsonNode m = json.get("models");
      if (m.isNull()) {
        models = List.of();
      } else {
        if (!m.isArray() || m.size() > MAX_MODELS) {
          throw bad(
              "'models' must be a list of at most " + MAX_MODELS + " model names ([] = all).",
              "models");
        }
        List<String> list = new ArrayList<>();
        for (JsonNode item : m) {
          if (!item.isTextual() || item.asText().isBlank() || item.asText().length() > 256) {
            throw bad("'models' must hold model names (text).", "models");
          }
          list.add(item.asText());
        }
        models = list;
      }
    }
    long rpm = json.has("rpm") ? limit(json.get("rpm"), "rpm") : base.rpm();
    long tpm = json.has("tpm") ? limit(json.get("tpm"), "tpm") : base.tpm();
    String maxPriority = base.maxPriority();
    if (json.has("max_priority")) {
      JsonNode p = json.get("max_priority");
      String text = p.isTextual() ? p.asText().toLowerCase(Locale.ROOT) : "";
      if (!List.of("high", "normal", "low").contains(text)) {
        throw bad("'max_priority' must be high, normal or low.", "max_priority");
      }
      maxPriority = text;
    }
    double daily =
        json.has("budget_usd_daily")
            ? usd(json.get("budget_usd_daily"), "budget_usd_daily")
            : base.budgetUsdDaily();
    double monthly =
        json.has("budget_usd_monthly")
            ? usd(json.get("budget_usd_monthly"), "budget_usd_monthly")
            : base.budgetUsdMonthly();
    Instant expiresAt = base.expiresAt();
    if (json.has("expires_at")) {
      expiresAt = expiry(json.get("expires_at"), now);
    }
    Map<String, String> metadata = base.metadata();
    if (json.has("metadata")) {
      metadata = metadata(json.get("metadata"));
    }
    return new VirtualKey(
        base.id(),
        name,
        base.hash(),
        base.suffix(),
        models,
        rpm,
        tpm,
        maxPriority,
        daily,
        monthly,
        expiresAt,
        metadata,
        base.createdAt(),
        base.revokedAt());
  }

  private static long limit(JsonNode n, String field) {
    if (n.isNull()) {
      return 0;
    }
    if (!n.isIntegralNumber()
        || n.asLong() < 0
        || !n.canConvertToLong()
        || n.asLong() > 1_000_000_000_000L) {
      throw bad("'" + field + "' must be a whole number, at least 0 (0 = no limit).", field);
    }
    return n.asLong();
  }

  private static double usd(JsonNode n, String field) {
    if (n.isNull()) {
      return 0;
    }
    if (!n.isNumber() || !(n.asDouble() >= 0) || n.asDouble() > 1e12) {
      throw bad("'" + field + "' must be an amount in USD, at least 0 (0 = no budget).", field);
    }
    return n.asDouble();
  }

  private static @Nullable Instant expiry(JsonNode n, Instant now) {
    if (n.isNull()) {
      return null;
    }
    Instant at;
    try {
      at =
          n.isIntegralNumber()
              ? Instant.ofEpochSecond(n.asLong())
              : n.isTextual() ? Instant.parse(n.asText()) : null;
    } catch (java.time.DateTimeException e) { // a parse error, or out of range
      at = null;
    }
    if (at == null) {
      throw bad(
          "'expires_at' must be an instant such as 2027-01-01T00:00:00Z, or Unix seconds.",
          "expires_at");
    }
    if (!at.isAfter(now)) {
      throw bad("'expires_at' must be in the future.", "expires_at");
    }
    return at;
  }

  private static Map<String, String> metadata(JsonNode n) {
    if (n.isNull()) {
      return Map.of();
    }
    if (!n.isObject() || n.size() > MAX_METADATA_PAIRS) {
      throw bad(
          "'metadata' must be an object of at most " + MAX_METADATA_PAIRS + " text values.",
          "metadata");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : n.properties()) {
      if (e.getKey().isEmpty()
          || e.getKey().length() > MAX_METADATA_KEY
          || !e.getValue().isTextual()
          || e.getValue().asText().length() > MAX_METADATA_VALUE) {
        throw bad(
            "'metadata' keys must be 1 to "
                + MAX_METADATA_KEY
                + " characters and values text of at most "
                + MAX_METADATA_VALUE
                + ".",
            "metadata");
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }

  private static JsonNode object(byte[] body) {
    JsonNode json;
    try {
      json = body.length == 0 ? JSON.createObjectNode() : JSON.readTree(body);
    } catch (java.io.IOException e) {
      throw new ApiError(
          400, "invalid_request_error", "The body is not valid JSON.", null, "invalid_json", -1);
    }
    if (json == null || !json.isObject()) {
      throw new ApiError(
          400,
          "invalid_request_error",
          "The body must be a JSON object.",
          null,
          "invalid_json",
          -1);
    }
    return json;
  }

  private static boolean clean(String text) {
    return text.chars().noneMatch(Character::isISOControl);
  }

  private static String printable(String text) {
    String cut = text.length() > 64 ? text.substring(0, 64) : text;
    return cut.replaceAll("\\p{Cntrl}", "?");
  }

  private static ApiError bad(String message, String field) {
    return new ApiError(400, "invalid_request_error", message, field, "invalid_value", -1);
  }

  private static ApiError unknown(String id) {
    return ApiError.notFound(
        "No virtual key has the id '" + printable(id) + "'.", "id", "key_not_found");
  }
}
