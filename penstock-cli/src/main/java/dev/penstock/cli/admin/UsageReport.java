package dev.penstock.cli.admin;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A usage report as the admin API answers it ({@code GET /admin/usage}), printed as a table with a
 * totals row, or as CSV. Grouped by key, the gateway names each key beside its id ({@code name}):
 * the table shows it in a column after the id; the CSV keeps its documented columns.
 *
 * @param groupBy what the rows are: {@code key}, {@code model}, {@code day} or {@code deployment}
 * @param from the period's start, as the gateway resolved it
 * @param to the period's end
 */
record UsageReport(String groupBy, String from, String to, List<Row> rows) {
  /**
   * One group's totals.
   *
   * @param name the key's name when grouped by key and the gateway gave one, else {@code ""}
   */
  record Row(
      String group,
      String name,
      long requests,
      long inputTokens,
      long cachedTokens,
      long outputTokens,
      BigDecimal costUsd) {
    Row plus(Row other) {
      return new Row(
          group,
          name,
          requests + other.requests,
          inputTokens + other.inputTokens,
          cachedTokens + other.cachedTokens,
          outputTokens + other.outputTokens,
          costUsd.add(other.costUsd));
    }
  }

  UsageReport {
    rows = List.copyOf(rows);
  }

  static UsageReport of(JsonNode json, String requestedGroupBy) {
    List<Row> rows = new ArrayList<>();
    json.path("data")
        .forEach(
            row ->
                rows.add(
                    new Row(
                        Objects.requireNonNullElse(Formats.text(row, "group"), ""),
                        Objects.requireNonNullElse(Formats.text(row, "name"), ""),
                        row.path("requests").asLong(0),
                        row.path("input_tokens").asLong(0),
                        row.path("cached_tokens").asLong(0),
                        row.path("output_tokens").asLong(0),
                        Formats.decimal(row.path("cost_usd")))));
    return new UsageReport(
        Objects.requireNonNullElse(Formats.text(json, "group_by"), requestedGroupBy),
        Objects.requireNonNullElse(Formats.text(json, "from"), "?"),
        Objects.requireNonNullElse(Formats.text(json, "to"), "?"),
        rows);
  }

  Row total() {
    Row total = new Row("total", "", 0, 0, 0, 0, BigDecimal.ZERO);
    for (Row row : rows) {
      total = total.plus(row);
    }
    return total;
  }

  void printTable(PrintWriter out) {
    out.printf("Usage by %s from %s to %s%n%n", groupBy, from, to);
    if (rows.isEmpty()) {
      out.println("No requests in this period.");
      out.flush();
      return;
    }
    boolean named = rows.stream().anyMatch(row -> !row.name().isEmpty());
    List<String> headers = new ArrayList<>(List.of(groupBy.toUpperCase(Locale.ROOT)));
    if (named) {
      headers.add("NAME");
    }
    headers.addAll(List.of("REQUESTS", "INPUT TOKENS", "CACHED TOKENS", "OUTPUT TOKENS", "COST"));
    boolean[] rightAligned = new boolean[headers.size()];
    Arrays.fill(rightAligned, named ? 2 : 1, rightAligned.length, true);
    TextTable table = new TextTable(headers, rightAligned);
    rows.forEach(row -> table.row(cells(row, named)));
    table.rule().row(cells(total(), named));
    table.print(out);
  }

  private static String[] cells(Row row, boolean named) {
    List<String> cells = new ArrayList<>();
    cells.add(row.group());
    if (named) {
      cells.add(row.name());
    }
    cells.add(Formats.count(row.requests()));
    cells.add(Formats.count(row.inputTokens()));
    cells.add(Formats.count(row.cachedTokens()));
    cells.add(Formats.count(row.outputTokens()));
    cells.add(Formats.usd(row.costUsd()));
    return cells.toArray(String[]::new);
  }

  /**
   * CSV (RFC 4180 quoting, Unix line ends) with a header and no totals row (a script sums what it
   * needs); full precision.
   */
  void printCsv(PrintWriter out) {
    out.print(csv(groupBy) + ",requests,input_tokens,cached_tokens,output_tokens,cost_usd\n");
    for (Row row : rows) {
      out.print(
          String.join(
                  ",",
                  csv(row.group()),
                  Long.toString(row.requests()),
                  Long.toString(row.inputTokens()),
                  Long.toString(row.cachedTokens()),
                  Long.toString(row.outputTokens()),
                  row.costUsd().toPlainString())
              + "\n");
    }
    out.flush();
  }

  private static String csv(String field) {
    return field.contains(",")
            || field.contains("\"")
            || field.contains("\n")
            || field.contains("\r")
        ? "\"" + field.replace("\"", "\"\"") + "\""
        : field;
  }
}
