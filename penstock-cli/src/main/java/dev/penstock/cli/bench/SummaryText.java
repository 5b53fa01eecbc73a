package dev.penstock.cli.bench;

import com.google.errorprone.annotations.FormatMethod;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/** Renders a {@link BenchResult} as the plain-text table {@code penstock bench} prints. */
public final class SummaryText {
  private SummaryText() {}

  public static String render(BenchResult result) {
    BenchOptions options = result.options();
    StringBuilder text = new StringBuilder();
    line(text, "target", target(options));
    line(text, "load", load(options));
    line(text, "elapsed", format("%.1f s", result.elapsedSeconds()));
    line(
        text,
        "requests",
        format(
            "sent %d   completed %d   dropped %d",
            result.sent(), result.completed(), result.dropped()));
    line(
        text,
        "throughput",
        format(
            "%,.1f ok/min   (offered %,.1f/min)",
            result.throughputPerMinute(), result.offeredPerMinute()));
    line(
        text,
        "tokens",
        format(
            "%,.0f/min   (in %,d, out %,d)",
            result.tokensPerMinute(), result.inputTokens(), result.outputTokens()));
    line(text, "status", counts(result.statusCounts()));
    line(text, "latency ms", percentiles(result.latency()) + "   (2xx, from due time)");
    if (options.stream()) {
      line(text, "ttft ms", percentiles(result.ttft()) + "   (first output token)");
    }
    if (!result.queue().isEmpty()) {
      line(text, "queue ms", percentiles(result.queue()) + "   (x-penstock-queue-ms)");
    }
    if (!result.deployments().isEmpty()) {
      line(text, "deployments", counts(result.deployments()));
    }
    line(
        text,
        "send lag ms",
        format(
                "p99 %s   max %s",
                ms(result.sendLag().p99Millis()), ms(result.sendLag().maxMillis()))
            + "   (bench's own delay; high means bench is the bottleneck)");
    return text.toString();
  }

  static String target(BenchOptions options) {
    return options.endpoint().label()
        + (options.stream() ? " (stream)" : "")
        + ", model "
        + options.model()
        + ", "
        + options.endpointUri();
  }

  static String load(BenchOptions options) {
    String cap =
        options.requestCap() == Long.MAX_VALUE
            ? ""
            : ", at most " + options.requestCap() + " requests";
    String output =
        options.endpoint() == Endpoint.EMBEDDINGS ? "" : ", output cap " + options.maxTokens();
    return options.load().describe()
        + " for "
        + Durations.format(options.duration())
        + cap
        + "; prompt ~"
        + options.promptTokens()
        + " tokens"
        + output;
  }

  static String percentiles(Percentiles p) {
    if (p.isEmpty()) {
      return "n/a";
    }
    return "p50 "
        + ms(p.p50Millis())
        + "   p90 "
        + ms(p.p90Millis())
        + "   p99 "
        + ms(p.p99Millis())
        + "   max "
        + ms(p.maxMillis());
  }

  /** Milliseconds with the precision that matters at their size. */
  static String ms(double millis) {
    return format(millis < 10 ? "%.2f" : "%.1f", millis);
  }

  private static String counts(Map<String, Long> counts) {
    if (counts.isEmpty()) {
      return "none";
    }
    StringJoiner joined = new StringJoiner("   ");
    counts.forEach((label, count) -> joined.add(label + " " + count));
    return joined.toString();
  }

  private static void line(StringBuilder text, String label, String value) {
    text.append(format("%-12s %s%n", label, value));
  }

  @FormatMethod
  private static String format(String pattern, Object... args) {
    return String.format(Locale.ROOT, pattern, args);
  }
}
