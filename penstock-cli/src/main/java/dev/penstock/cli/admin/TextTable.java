package dev.penstock.cli.admin;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * A plain-text table: a header, rows and rules, each column as wide as its widest cell, two spaces
 * between columns, numbers aligned right. Not thread-safe; build, print, discard.
 */
final class TextTable {
  private final List<String> headers;
  private final boolean[] rightAligned;

  /** Rows; an empty list stands for a rule under the rows above it. */
  private final List<List<String>> rows = new ArrayList<>();

  /**
   * @param headers the column titles
   * @param rightAligned for each column, whether it holds numbers (aligned right)
   */
  TextTable(List<String> headers, boolean... rightAligned) {
    if (rightAligned.length != headers.size()) {
      throw new IllegalArgumentException("one alignment per column");
    }
    this.headers = List.copyOf(headers);
    this.rightAligned = rightAligned.clone();
  }

  TextTable row(String... cells) {
    if (cells.length != headers.size()) {
      throw new IllegalArgumentException("expected " + headers.size() + " cells");
    }
    rows.add(List.of(cells));
    return this;
  }

  /** A line of dashes under every column, e.g. above a totals row. */
  TextTable rule() {
    rows.add(List.of());
    return this;
  }

  void print(PrintWriter out) {
    int[] widths = new int[headers.size()];
    for (List<String> row : withHeader()) {
      for (int i = 0; i < row.size(); i++) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    for (List<String> row : withHeader()) {
      out.println(row.isEmpty() ? rule(widths) : line(row, widths));
    }
    out.flush();
  }

  private List<List<String>> withHeader() {
    List<List<String>> all = new ArrayList<>(rows.size() + 1);
    all.add(headers);
    all.addAll(rows);
    return all;
  }

  private String line(List<String> row, int[] widths) {
    StringBuilder line = new StringBuilder();
    for (int i = 0; i < row.size(); i++) {
      String cell = row.get(i);
      String padding = " ".repeat(widths[i] - cell.length());
      line.append(i == 0 ? "" : "  ").append(rightAligned[i] ? padding + cell : cell + padding);
    }
    return line.toString().stripTrailing();
  }

  private static String rule(int[] widths) {
    StringBuilder line = new StringBuilder();
    for (int i = 0; i < widths.length; i++) {
      line.append(i == 0 ? "" : "  ").append("-".repeat(widths[i]));
    }
    return line.toString();
  }
}
