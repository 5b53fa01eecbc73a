package dev.penstock.cli.admin;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;

/** Prints virtual keys for a person: a table of many, or every field of one. */
final class KeyPrinter {
  private KeyPrinter() {}

  /** One row a key; money as "spent/budget", {@code -} for no limit or no budget. */
  static void table(List<KeyRecord> keys, Instant now, PrintWriter out) {
    if (keys.isEmpty()) {
      out.println("No virtual keys yet: create one with penstock keys create --name NAME.");
      out.flush();
      return;
    }
    TextTable table =
        new TextTable(
            List.of(
                "ID",
                "NAME",
                "KEY",
                "STATE",
                "MODELS",
                "RPM",
                "TPM",
                "TODAY SPENT/BUDGET",
                "MONTH SPENT/BUDGET"),
            false,
            false,
            false,
            false,
            false,
            true,
            true,
            true,
            true);
    for (KeyRecord key : keys) {
      table.row(
          key.id(),
          key.name(),
          key.masked(),
          key.state(now),
          key.modelList(),
          Formats.limit(key.rpm()),
          Formats.limit(key.tpm()),
          spentOf(key.spendUsdToday(), key.budgetUsdDaily()),
          spentOf(key.spendUsdMonth(), key.budgetUsdMonthly()));
    }
    table.print(out);
  }

  /** Every field, one a line. */
  static void details(KeyRecord key, Instant now, PrintWriter out) {
    // Two columns without titles: the first field stands where the titles would.
    TextTable fields = new TextTable(List.of("id", key.id()), false, false);
    fields
        .row("name", key.name())
        .row("key", key.masked())
        .row("state", key.state(now))
        .row("models", key.models().isEmpty() ? "all" : String.join(", ", key.models()))
        .row("rpm", key.rpm() == 0 ? "no limit" : Formats.count(key.rpm()))
        .row("tpm", key.tpm() == 0 ? "no limit" : Formats.count(key.tpm()))
        .row("max priority", key.maxPriority().isEmpty() ? "-" : key.maxPriority())
        .row("today", budgetLine(key.spendUsdToday(), key.budgetUsdDaily(), "daily"))
        .row("this month", budgetLine(key.spendUsdMonth(), key.budgetUsdMonthly(), "monthly"))
        .row("expires", key.expiresAt() == null ? "never" : key.expiresAt())
        .row("metadata", metadata(key))
        .row("created", key.createdAt());
    if (key.revokedAt() != null) {
      fields.row("revoked", key.revokedAt());
    }
    fields.print(out);
  }

  private static String spentOf(BigDecimal spent, BigDecimal budget) {
    return Formats.usd(spent) + "/" + (budget.signum() == 0 ? "-" : Formats.usd(budget));
  }

  private static String budgetLine(BigDecimal spent, BigDecimal budget, String period) {
    return Formats.usd(spent)
        + " spent"
        + (budget.signum() == 0
            ? ", no " + period + " budget"
            : " of " + Formats.usd(budget) + " " + period + " budget");
  }

  private static String metadata(KeyRecord key) {
    return key.metadata().isEmpty()
        ? "none"
        : key.metadata().entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue())
            .collect(Collectors.joining(", "));
  }
}
