package dev.penstock.cli.admin;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A batch as the admin API describes it: OpenAI's batch object plus its owner and its progress.
 * Read leniently, like {@link KeyRecord}: a field the gateway leaves out reads as "none" (0, empty,
 * null), so that an older or newer gateway still lists.
 *
 * @param ownerId the virtual key that created it, null in open mode
 * @param timestamps the events that happened ({@code created_at}, {@code in_progress_at}...), in
 *     the order of OpenAI's object, each as an instant; those that have not happened are absent
 * @param linesPerMinute the recent rate, null when the gateway does not know it
 * @param etaSeconds the estimated seconds left, null when unknown
 */
record BatchRecord(
    String id,
    String status,
    @Nullable String ownerId,
    @Nullable String ownerName,
    String endpoint,
    String inputFileId,
    @Nullable String outputFileId,
    @Nullable String errorFileId,
    String completionWindow,
    long total,
    long completed,
    long failed,
    long pending,
    long claimed,
    @Nullable BigDecimal linesPerMinute,
    @Nullable Long etaSeconds,
    Map<String, Instant> timestamps,
    Map<String, String> metadata,
    Map<String, Long> usage,
    List<InputError> errors) {

  /** The events of a batch's life, as OpenAI's object names them. */
  static final List<String> EVENTS =
      List.of(
          "created_at",
          "in_progress_at",
          "finalizing_at",
          "completed_at",
          "failed_at",
          "cancelling_at",
          "cancelled_at",
          "expired_at",
          "expires_at");

  /** A validation error of the input file ({@code errors.data[]}). */
  record InputError(String code, String message, @Nullable String param, @Nullable Long line) {}

  static BatchRecord of(JsonNode json) {
    JsonNode owner = json.path("owner");
    JsonNode counts = json.path("request_counts");
    JsonNode progress = json.path("progress");
    return new BatchRecord(
        Objects.requireNonNullElse(Formats.text(json, "id"), "?"),
        Objects.requireNonNullElse(Formats.text(json, "status"), "?"),
        Formats.text(owner, "id"),
        Formats.text(owner, "name"),
        Objects.requireNonNullElse(Formats.text(json, "endpoint"), ""),
        Objects.requireNonNullElse(Formats.text(json, "input_file_id"), ""),
        Formats.text(json, "output_file_id"),
        Formats.text(json, "error_file_id"),
        Objects.requireNonNullElse(Formats.text(json, "completion_window"), ""),
        counts.path("total").asLong(0),
        counts.path("completed").asLong(0),
        counts.path("failed").asLong(0),
        progress.path("pending").asLong(0),
        progress.path("claimed").asLong(0),
        progress.path("lines_per_minute").isNumber()
            ? progress.path("lines_per_minute").decimalValue()
            : null,
        progress.path("eta_seconds").isNumber() ? progress.path("eta_seconds").asLong() : null,
        timestamps(json),
        metadata(json.path("metadata")),
        usage(json.path("usage")),
        errors(json.path("errors")));
  }

  /** Whether nothing more will happen to it. */
  boolean terminal() {
    return switch (status) {
      case "completed", "failed", "expired", "cancelled" -> true;
      default -> false;
    };
  }

  /** The owner for a person: its name, else its id, else {@code -} (open mode). */
  String owner() {
    if (ownerName != null && !ownerName.isBlank()) {
      return ownerName;
    }
    return ownerId == null ? "-" : ownerId;
  }

  /** When it was created, or {@code -} when the gateway did not say. */
  String created() {
    Instant created = timestamps.get("created_at");
    return created == null ? "-" : created.toString();
  }

  private static Map<String, Instant> timestamps(JsonNode json) {
    Map<String, Instant> timestamps = new LinkedHashMap<>();
    for (String event : EVENTS) {
      JsonNode seconds = json.path(event);
      if (seconds.isNumber() && seconds.asLong() > 0) {
        timestamps.put(event, Instant.ofEpochSecond(seconds.asLong()));
      }
    }
    return Collections.unmodifiableMap(timestamps);
  }

  private static Map<String, String> metadata(JsonNode json) {
    Map<String, String> metadata = new LinkedHashMap<>();
    json.properties().forEach(e -> metadata.put(e.getKey(), e.getValue().asText()));
    return Collections.unmodifiableMap(metadata);
  }

  /** Every whole-number usage figure, nested ones as {@code output_tokens_details.x}. */
  private static Map<String, Long> usage(JsonNode json) {
    Map<String, Long> usage = new LinkedHashMap<>();
    json.properties()
        .forEach(
            e -> {
              if (e.getValue().isIntegralNumber()) {
                usage.put(e.getKey(), e.getValue().asLong());
              } else if (e.getValue().isObject()) {
                e.getValue()
                    .properties()
                    .forEach(
                        inner -> {
                          if (inner.getValue().isIntegralNumber()) {
                            usage.put(e.getKey() + "." + inner.getKey(), inner.getValue().asLong());
                          }
                        });
              }
            });
    return Collections.unmodifiableMap(usage);
  }

  private static List<InputError> errors(JsonNode json) {
    List<InputError> errors = new ArrayList<>();
    json.path("data")
        .forEach(
            error ->
                errors.add(
                    new InputError(
                        Objects.requireNonNullElse(Formats.text(error, "code"), "?"),
                        Objects.requireNonNullElse(Formats.text(error, "message"), ""),
                        Formats.text(error, "param"),
                        error.path("line").isNumber() ? error.path("line").asLong() : null)));
    return List.copyOf(errors);
  }
}
