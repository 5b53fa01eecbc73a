package dev.penstock.cli.admin;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/** Prints batches for a person: a table of many, or every field of one. */
final class BatchPrinter {
  private static final Map<String, String> EVENT_LABELS =
      Map.of(
          "created_at", "created",
          "in_progress_at", "in progress",
          "finalizing_at", "finalizing",
          "completed_at", "completed",
          "failed_at", "failed",
          "cancelling_at", "cancelling",
          "cancelled_at", "cancelled",
          "expired_at", "expired",
          "expires_at", "expires");

  private BatchPrinter() {}

  /** One row a batch: its counts as "done/failed/total", {@code -} for what is not known. */
  static void table(List<BatchRecord> batches, PrintWriter out) {
    TextTable table =
        new TextTable(
            List.of(
                "ID",
                "STATUS",
                "OWNER",
                "ENDPOINT",
                "DONE/FAILED/TOTAL",
                "PENDING",
                "RATE L/MIN",
                "ETA",
                "CREATED"),
            false,
            false,
            false,
            false,
            true,
            true,
            true,
            true,
            false);
    for (BatchRecord batch : batches) {
      table.row(
          batch.id(),
          batch.status(),
          batch.owner(),
          batch.endpoint(),
          Formats.count(batch.completed())
              + "/"
              + Formats.count(batch.failed())
              + "/"
              + Formats.count(batch.total()),
          batch.terminal() ? "-" : Formats.count(batch.pending()),
          batch.terminal() ? "-" : rate(batch.linesPerMinute()),
          batch.terminal() ? "-" : eta(batch.etaSeconds()),
          batch.created());
    }
    table.print(out);
  }

  /** Every field, one a line, then the input file's validation errors if any. */
  static void details(BatchRecord batch, PrintWriter out) {
    // Two columns without titles: the first field stands where the titles would.
    TextTable fields = new TextTable(List.of("id", batch.id()), false, false);
    fields
        .row("status", batch.status())
        .row("owner", ownerLine(batch))
        .row("endpoint", batch.endpoint())
        .row("window", dashIfEmpty(batch.completionWindow()))
        .row("input file", dashIfEmpty(batch.inputFileId()))
        .row("output file", dashIfEmpty(batch.outputFileId()))
        .row("error file", dashIfEmpty(batch.errorFileId()))
        .row(
            "requests",
            Formats.count(batch.completed())
                + " completed, "
                + Formats.count(batch.failed())
                + " failed, "
                + Formats.count(batch.total())
                + " total");
    if (!batch.terminal()) {
      fields
          .row(
              "progress",
              Formats.count(batch.pending())
                  + " pending, "
                  + Formats.count(batch.claimed())
                  + " in flight")
          .row(
              "rate",
              batch.linesPerMinute() == null ? "-" : rate(batch.linesPerMinute()) + " lines/min")
          .row("eta", eta(batch.etaSeconds()));
    }
    fields.row("usage", usage(batch)).row("metadata", metadata(batch));
    for (Map.Entry<String, Instant> event : batch.timestamps().entrySet()) {
      fields.row(
          EVENT_LABELS.getOrDefault(event.getKey(), event.getKey()), event.getValue().toString());
    }
    fields.print(out);
    if (!batch.errors().isEmpty()) {
      out.println();
      out.println("Errors:");
      TextTable errors =
          new TextTable(List.of("LINE", "CODE", "PARAM", "MESSAGE"), true, false, false, false);
      for (BatchRecord.InputError error : batch.errors()) {
        errors.row(
            error.line() == null ? "-" : Long.toString(error.line()),
            error.code(),
            dashIfEmpty(error.param()),
            error.message().strip().replaceAll("\\s+", " "));
      }
      errors.print(out);
    }
    out.flush();
  }

  /**
   * Lines a minute: whole above 10 ({@code 1,234}), one decimal below ({@code 7.5}); {@code -} when
   * unknown.
   */
  static String rate(@Nullable BigDecimal linesPerMinute) {
    if (linesPerMinute == null) {
      return "-";
    }
    if (linesPerMinute.compareTo(BigDecimal.TEN) >= 0) {
      return Formats.count(linesPerMinute.setScale(0, RoundingMode.HALF_UP).longValue());
    }
    return linesPerMinute.setScale(1, RoundingMode.HALF_UP).toPlainString();
  }

  /**
   * A time left in its two largest units ({@code 45s}, {@code 3m20s}, {@code 2h05m}, {@code
   * 3d04h}).
   */
  static String eta(@Nullable Long seconds) {
    if (seconds == null || seconds < 0) {
      return "-";
    }
    long s = seconds;
    if (s < 60) {
      return s + "s";
    }
    if (s < 3_600) {
      return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
    if (s < 86_400) {
      return String.format(Locale.ROOT, "%dh%02dm", s / 3_600, s % 3_600 / 60);
    }
    return String.format(Locale.ROOT, "%dd%02dh", s / 86_400, s % 86_400 / 3_600);
  }

  private static String ownerLine(BatchRecord batch) {
    if (batch.ownerId() == null) {
      return "- (open mode)";
    }
    return batch.ownerName() == null || batch.ownerName().isBlank()
        ? batch.ownerId()
        : batch.ownerName() + " (" + batch.ownerId() + ")";
  }

  private static String usage(BatchRecord batch) {
    return batch.usage().isEmpty()
        ? "none yet"
        : batch.usage().entrySet().stream()
            .map(e -> e.getKey() + "=" + Formats.count(e.getValue()))
            .collect(Collectors.joining(", "));
  }

  private static String metadata(BatchRecord batch) {
    return batch.metadata().isEmpty()
        ? "none"
        : batch.metadata().entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue())
            .collect(Collectors.joining(", "));
  }

  private static String dashIfEmpty(@Nullable String text) {
    return text == null || text.isBlank() ? "-" : text;
  }
}
