package dev.penstock.cli.admin;

import java.io.PrintWriter;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.Visibility;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code penstock usage}: the gateway's usage report for a period, grouped by key, model, day or
 * deployment — a table with a totals row, {@code --csv} or {@code --json}.
 */
@Command(
    name = "usage",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Reports requests, tokens and cost from the gateway's usage ledger (see"
          + " docs/tenants-cli.md).",
      "The period defaults to the current UTC month up to now; the gateway is at --url (default"
          + " $PENSTOCK_URL, else http://127.0.0.1:8080)."
    })
public final class UsageCommand implements Callable<Integer> {
  /** What the rows group. */
  enum GroupBy {
    KEY,
    MODEL,
    DAY,
    DEPLOYMENT
  }

  @Option(
      names = "--from",
      paramLabel = "WHEN",
      description = "Start: a date (2026-12-01, UTC) or an instant. Default: start of this month.")
  private @Nullable String from;

  @Option(
      names = "--to",
      paramLabel = "WHEN",
      description = "End: a date or an instant. Default: now.")
  private @Nullable String to;

  @Option(
      names = "--group-by",
      paramLabel = "WHAT",
      defaultValue = "key",
      showDefaultValue = Visibility.ALWAYS,
      description = "key, model, day or deployment.")
  private GroupBy groupBy;

  @Option(names = "--json", description = "Print the gateway's JSON answer as it is.")
  private boolean json;

  @Option(names = "--csv", description = "Print CSV with a header line, at full precision.")
  private boolean csv;

  @Mixin private AdminOptions admin;

  @Override
  public Integer call() {
    if (json && csv) {
      throw admin.usageError("--json and --csv are exclusive");
    }
    String pathAndQuery = pathAndQuery();
    AdminClient.Answer answer;
    try (AdminClient client = admin.client()) {
      answer = client.get(pathAndQuery);
    }
    PrintWriter out = admin.out();
    if (json) {
      out.println(answer.body().strip());
      out.flush();
      return 0;
    }
    UsageReport report = UsageReport.of(answer.json(), groupName());
    if (csv) {
      report.printCsv(out);
    } else {
      report.printTable(out);
    }
    return 0;
  }

  /** {@code /admin/usage?from=…&to=…&group_by=…}, leaving out what the gateway defaults. */
  String pathAndQuery() {
    List<String> query = new ArrayList<>();
    if (from != null) {
      query.add("from=" + AdminClient.encode(checked("--from", from)));
    }
    if (to != null) {
      query.add("to=" + AdminClient.encode(checked("--to", to)));
    }
    query.add("group_by=" + groupName());
    return "/admin/usage?" + String.join("&", query);
  }

  private String groupName() {
    return groupBy.name().toLowerCase(Locale.ROOT);
  }

  /** A date or an instant, as the gateway reads it; anything else is a usage error. */
  private String checked(String option, String when) {
    try {
      LocalDate.parse(when);
      return when;
    } catch (DateTimeParseException notADate) {
      try {
        Instant.parse(when);
        return when;
      } catch (DateTimeParseException notAnInstant) {
        throw admin.usageError(
            option
                + ": expected a date such as 2026-12-01 or an instant such as"
                + " 2026-12-01T00:00:00Z; not '"
                + when
                + "'");
      }
    }
  }
}
