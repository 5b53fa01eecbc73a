package dev.penstock.cli.bench;

import com.google.errorprone.annotations.FormatMethod;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * Renders a {@link BenchResult} as one self-contained HTML page: summary tables and inline SVG
 * charts, with no script, stylesheet, font or image from anywhere else, so it opens offline and can
 * be mailed as one file. The only URL in it is the benchmarked one, as text.
 */
public final class HtmlReport {
  private static final String OK_COLOR = "#2e7d32";
  private static final String RATE_LIMITED_COLOR = "#ef6c00";
  private static final String ERROR_COLOR = "#c62828";
  private static final String OFFERED_COLOR = "#78909c";
  private static final String LATENCY_COLOR = "#1565c0";

  /** Trailing window of the rate charts: long enough to smooth, short enough to show change. */
  private static final int MAX_WINDOW_SECONDS = 10;

  private static final String STYLE =
      """
      body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;\
      max-width:860px;color:#222;padding:0 1em}
      h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em}
      h3{font-size:1em;margin:1.2em 0 .2em;color:#444}
      .sub{color:#666;margin-top:0}
      table{border-collapse:collapse;margin:.5em 0}
      td,th{padding:3px 14px 3px 0;text-align:left;vertical-align:top}
      th{color:#555;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
      .chart{width:100%;height:auto;background:#fff}
      .grid{stroke:#e5e5e5}.axis{stroke:#888}
      .tick,.legend{font-size:11px;fill:#555}.axis-title{font-size:12px;fill:#333}
      .series{fill:none;stroke-width:2}
      .limit{stroke:#6a1b9a;stroke-width:1.5;stroke-dasharray:6 4}
      .limit-label{font-size:12px;fill:#6a1b9a}
      .note{color:#666;font-size:12px}
      """;

  private HtmlReport() {}

  public static String render(BenchResult result) {
    BenchOptions options = result.options();
    StringBuilder html = new StringBuilder(32_768);
    html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .append("<title>penstock bench: ")
        .append(Html.escape(SummaryText.target(options)))
        .append("</title>\n<style>\n")
        .append(STYLE)
        .append("</style>\n</head>\n<body>\n");
    html.append("<h1>penstock bench</h1>\n<p class=\"sub\">")
        .append(Html.escape(SummaryText.target(options)))
        .append("<br>")
        .append(Html.escape(SummaryText.load(options)))
        .append("<br>started ")
        .append(Html.escape(result.startedAt().toString()))
        .append("</p>\n");
    summary(html, result);
    throughputChart(html, result);
    tokenChart(html, result);
    latencySection(html, result);
    html.append("</body>\n</html>\n");
    return html.toString();
  }

  private static void summary(StringBuilder html, BenchResult result) {
    html.append("<h2>Summary</h2>\n<table>\n");
    row(html, "elapsed", format("%.1f s", result.elapsedSeconds()));
    row(html, "sent", Long.toString(result.sent()));
    row(html, "completed", Long.toString(result.completed()));
    row(html, "dropped (client-side)", Long.toString(result.dropped()));
    row(html, "throughput", format("%,.1f successful requests/min", result.throughputPerMinute()));
    row(html, "offered", format("%,.1f requests/min", result.offeredPerMinute()));
    row(
        html,
        "tokens",
        format(
            "%,.0f tokens/min (in %,d, out %,d)",
            result.tokensPerMinute(), result.inputTokens(), result.outputTokens()));
    html.append("</table>\n<h2>Status</h2>\n");
    counts(html, result.statusCounts(), "outcome");
    if (!result.deployments().isEmpty()) {
      html.append("<h2>Deployments</h2>\n");
      counts(html, result.deployments(), "x-penstock-deployment");
    }
  }

  private static void latencySection(StringBuilder html, BenchResult result) {
    html.append("<h2>Latency</h2>\n<table>\n<tr><th>ms</th><th>count</th><th>p50</th>")
        .append("<th>p90</th><th>p99</th><th>max</th></tr>\n");
    percentileRow(html, "latency (2xx, from due time)", result.latency());
    if (result.options().stream()) {
      percentileRow(html, "time to first token", result.ttft());
    }
    if (!result.queue().isEmpty()) {
      percentileRow(html, "gateway queue (x-penstock-queue-ms)", result.queue());
    }
    percentileRow(html, "bench send lag", result.sendLag());
    html.append("</table>\n");
    html.append("<h3>Latency distribution (2xx, from due time)</h3>\n")
        .append(percentileChart("Latency distribution (2xx)", result.latencyCurve()));
    if (result.options().stream()) {
      html.append("<h3>Time to first token distribution</h3>\n")
          .append(percentileChart("Time to first token distribution", result.ttftCurve()));
    }
  }

  private static void throughputChart(StringBuilder html, BenchResult result) {
    List<TimelineSecond> seconds = fullSeconds(result);
    int window = window(result);
    SvgChart chart =
        new SvgChart("Throughput over time", "seconds since start", "requests per minute")
            .xRange(0, seconds.size())
            .series("ok", OK_COLOR, rate(seconds, window, TimelineSecond::ok))
            .series("429", RATE_LIMITED_COLOR, rate(seconds, window, TimelineSecond::rateLimited))
            .series("other errors", ERROR_COLOR, rate(seconds, window, TimelineSecond::errors))
            .series("offered", OFFERED_COLOR, rate(seconds, window, TimelineSecond::sent));
    if (result.options().limitRpm() > 0) {
      long limit = result.options().limitRpm();
      chart.reference("configured limit " + limit + " rpm", (double) limit);
    }
    html.append("<h2>Throughput</h2>\n").append(chart.render()).append(windowNote(window));
  }

  private static void tokenChart(StringBuilder html, BenchResult result) {
    long limit = result.options().limitTpm();
    if (result.inputTokens() + result.outputTokens() == 0 && limit == 0) {
      return;
    }
    List<TimelineSecond> seconds = fullSeconds(result);
    int window = window(result);
    SvgChart chart =
        new SvgChart("Tokens over time", "seconds since start", "tokens per minute")
            .xRange(0, seconds.size())
            .series("tokens (2xx)", OK_COLOR, rate(seconds, window, TimelineSecond::tokens));
    if (limit > 0) {
      chart.reference("configured limit " + limit + " tpm", (double) limit);
    }
    html.append("<h2>Tokens</h2>\n").append(chart.render()).append(windowNote(window));
  }

  private static String percentileChart(String title, List<PercentilePoint> curve) {
    if (curve.isEmpty()) {
      return "<p class=\"note\">" + Html.escape(title) + ": no samples.</p>\n";
    }
    List<double[]> points = new ArrayList<>();
    for (PercentilePoint point : curve) {
      points.add(new double[] {point.nines(), point.valueMillis()});
    }
    double maxNines = curve.getLast().nines();
    List<SvgChart.Tick> ticks = new ArrayList<>();
    String[] labels = {"0%", "90%", "99%", "99.9%", "99.99%"};
    for (int nines = 0; nines <= Math.max(1, Math.floor(maxNines + 1e-9)); nines++) {
      ticks.add(new SvgChart.Tick(nines, labels[nines]));
    }
    return new SvgChart(title, "percentile", "milliseconds")
        .xRange(0, Math.max(1, maxNines))
        .xTicks(ticks)
        .series("ms at percentile", LATENCY_COLOR, points)
        .render();
  }

  /** The seconds that ran in full; a final partial second would read as a drop in rate. */
  private static List<TimelineSecond> fullSeconds(BenchResult result) {
    int full = (int) Math.max(1, Math.floor(result.elapsedSeconds()));
    List<TimelineSecond> timeline = result.timeline();
    return timeline.subList(0, Math.min(full, timeline.size()));
  }

  private static int window(BenchResult result) {
    return Math.clamp(Math.round(result.elapsedSeconds() / 20), 1, MAX_WINDOW_SECONDS);
  }

  /**
   * Per-minute rate at the end of each second, averaged over the trailing {@code window} seconds
   * (fewer at the start, where fewer exist).
   */
  static List<double[]> rate(
      List<TimelineSecond> seconds, int window, ToLongFunction<TimelineSecond> count) {
    List<double[]> points = new ArrayList<>(seconds.size());
    long sum = 0;
    for (int i = 0; i < seconds.size(); i++) {
      sum += count.applyAsLong(seconds.get(i));
      if (i >= window) {
        sum -= count.applyAsLong(seconds.get(i - window));
      }
      int span = Math.min(window, i + 1);
      points.add(new double[] {i + 1, sum * 60.0 / span});
    }
    return points;
  }

  private static String windowNote(int window) {
    return "<p class=\"note\">Rates are averaged over a trailing "
        + window
        + "-second window; completions are counted when their last byte arrives.</p>\n";
  }

  private static void counts(StringBuilder html, Map<String, Long> counts, String heading) {
    html.append("<table>\n<tr><th>")
        .append(Html.escape(heading))
        .append("</th><th>count</th></tr>\n");
    counts.forEach(
        (label, count) ->
            html.append("<tr><td>")
                .append(Html.escape(label))
                .append("</td><td class=\"n\">")
                .append(count)
                .append("</td></tr>\n"));
    html.append("</table>\n");
  }

  private static void percentileRow(StringBuilder html, String label, Percentiles p) {
    html.append("<tr><td>").append(Html.escape(label)).append("</td>");
    html.append("<td class=\"n\">").append(p.count()).append("</td>");
    for (double value : new double[] {p.p50Millis(), p.p90Millis(), p.p99Millis(), p.maxMillis()}) {
      html.append("<td class=\"n\">")
          .append(p.isEmpty() ? "" : SummaryText.ms(value))
          .append("</td>");
    }
    html.append("</tr>\n");
  }

  private static void row(StringBuilder html, String label, String value) {
    html.append("<tr><th>")
        .append(Html.escape(label))
        .append("</th><td>")
        .append(Html.escape(value))
        .append("</td></tr>\n");
  }

  @FormatMethod
  private static String format(String pattern, Object... args) {
    return String.format(Locale.ROOT, pattern, args);
  }
}
