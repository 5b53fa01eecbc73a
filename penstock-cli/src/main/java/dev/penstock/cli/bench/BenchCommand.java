package dev.penstock.cli.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.Visibility;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code penstock bench}: parses the command line into {@link BenchOptions}, runs a {@link
 * BenchRun}, and prints the summary (text or {@code --json}) on stdout, the progress on stderr (a
 * bar on a terminal, a plain line every few seconds otherwise), and the HTML report to {@code
 * --html}.
 *
 * <p>Invalid options exit with 2 and a one-line reason, as every picocli usage error does.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    showDefaultValues = true,
    description = {
      "Sends load to any OpenAI-compatible API and measures it (see docs/bench.md).",
      "The load is a fixed rate (open loop, so queueing shows as latency) or a fixed concurrency"
          + " (closed loop). Prints throughput, status counts and latency percentiles; --html"
          + " writes a report with charts."
    })
public final class BenchCommand implements Callable<Integer> {
  private final ProgressStyle progressStyle;

  @Spec private CommandSpec spec;

  @Option(
      names = "--url",
      paramLabel = "URL",
      defaultValue = "http://127.0.0.1:8080/v1",
      description = "OpenAI-compatible base URL.")
  private URI url;

  @Option(
      names = "--key",
      paramLabel = "KEY",
      defaultValue = "${env:OPENAI_API_KEY:-sk-penstock-bench}",
      showDefaultValue = Visibility.NEVER,
      description = "API key (Bearer). Default: $OPENAI_API_KEY, else sk-penstock-bench.")
  private String key;

  @Option(
      names = "--model",
      paramLabel = "NAME",
      defaultValue = "gpt-4o-mini",
      description = "Model name in every request.")
  private String model;

  @Option(
      names = "--endpoint",
      paramLabel = "KIND",
      converter = EndpointConverter.class,
      defaultValue = "chat",
      description = "chat, embeddings, completions or responses.")
  private Endpoint endpoint;

  @Option(names = "--stream", description = "Stream answers (SSE) and measure time to first token.")
  private boolean stream;

  @Option(
      names = "--rate",
      paramLabel = "RATE",
      converter = RateConverter.class,
      description = "Open loop: e.g. 20/s, 1500/m, 1500/min; a plain number is per second.")
  private Rate rate;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      description = "Closed loop: requests outstanding at all times. Default: 8 unless --rate.")
  private Integer concurrency;

  @Option(
      names = "--duration",
      paramLabel = "TIME",
      converter = DurationConverter.class,
      defaultValue = "30s",
      description = "How long to send, e.g. 90s, 2m, 500ms.")
  private Duration duration;

  @Option(names = "--requests", paramLabel = "N", description = "Stop after N requests.")
  private Long requests;

  @Option(
      names = "--warmup",
      paramLabel = "TIME",
      converter = DurationConverter.class,
      defaultValue = "0s",
      description =
          "Offer the same load for this long first, unmeasured, so that neither bench's JIT nor"
              + " the target's skews the results.")
  private Duration warmup;

  @Option(
      names = "--prompt-tokens",
      paramLabel = "N",
      defaultValue = "64",
      description = "Prompt size in tokens.")
  private int promptTokens;

  @Option(
      names = "--max-tokens",
      paramLabel = "N",
      defaultValue = "64",
      description = "Output cap per request.")
  private int maxTokens;

  @Option(
      names = "--header",
      paramLabel = "'NAME: VALUE'",
      converter = HeaderConverter.class,
      showDefaultValue = Visibility.NEVER,
      description = "Extra request header, repeatable, e.g. 'x-penstock-priority: high'.")
  private List<Header> headers = new ArrayList<>();

  @Option(
      names = "--timeout",
      paramLabel = "TIME",
      converter = DurationConverter.class,
      defaultValue = "60s",
      description = "Per request, from sending to the last byte.")
  private Duration timeout;

  @Option(
      names = "--limit-rpm",
      paramLabel = "N",
      showDefaultValue = Visibility.NEVER,
      description = "Draw this configured RPM limit on the throughput chart.")
  private long limitRpm;

  @Option(
      names = "--limit-tpm",
      paramLabel = "N",
      showDefaultValue = Visibility.NEVER,
      description = "Draw this configured TPM limit on the token chart.")
  private long limitTpm;

  @Option(
      names = "--max-inflight",
      paramLabel = "N",
      defaultValue = "10000",
      description = "Open loop: requests due beyond this many outstanding are counted as dropped.")
  private int maxInFlight;

  @Option(
      names = "--distinct-prompts",
      paramLabel = "N",
      defaultValue = "0",
      description =
          "Use only N different prompts, in turn (0: every request its own), so that a response"
              + " cache can answer the repeats; with 'x-penstock-cache: force' or a deterministic"
              + " model this measures cache hits.")
  private long distinctPrompts;

  @Option(names = "--json", description = "Print the summary as JSON on stdout.")
  private boolean json;

  @Option(names = "--html", paramLabel = "FILE", description = "Write an HTML report with charts.")
  private Path html;

  @Option(
      names = "--progress",
      description =
          "Draw the progress bar even when stderr is not a terminal (otherwise a plain line every"
              + " 5 s).")
  private boolean progress;

  @Option(names = "--quiet", description = "No progress and no notes on stderr.")
  private boolean quiet;

  /** With the progress style decided at startup: a bar on a terminal, lines otherwise. */
  public BenchCommand(ProgressStyle progressStyle) {
    this.progressStyle = progressStyle;
  }

  @Override
  public Integer call() {
    BenchOptions options = options();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    ProgressListener listener = progress(err);
    BenchResult result;
    try {
      if (!warmup.isZero() && !quiet) {
        err.println(
            "penstock bench: warming up for " + Durations.format(warmup) + " (not measured)");
      }
      result = BenchRun.run(options, warmup, listener);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("penstock bench: interrupted");
      return 130;
    }
    out.print(
        json ? SummaryJson.render(result) + System.lineSeparator() : SummaryText.render(result));
    out.flush();
    return html == null ? 0 : writeReport(result, err);
  }

  /** Validates the options together; a bad combination is a usage error (exit 2). */
  BenchOptions options() {
    if (rate != null && concurrency != null) {
      throw usage("--rate and --concurrency are exclusive: choose open loop or closed loop");
    }
    if (html != null) {
      Path parent = html.toAbsolutePath().getParent();
      if (parent == null || !Files.isDirectory(parent)) {
        throw usage("--html: directory " + parent + " does not exist");
      }
    }
    try {
      BenchOptions.Builder builder =
          BenchOptions.builder().baseUrl(url).apiKey(key).model(model).endpoint(endpoint).stream(
                  stream)
              .duration(duration)
              .requestCap(requests == null ? Long.MAX_VALUE : requests)
              .promptTokens(promptTokens)
              .maxTokens(maxTokens)
              .timeout(timeout)
              .limitRpm(limitRpm)
              .limitTpm(limitTpm)
              .maxInFlight(maxInFlight)
              .distinctPrompts(distinctPrompts);
      headers.forEach(builder::header);
      if (rate != null) {
        builder.rate(rate);
      } else if (concurrency != null) {
        builder.concurrency(concurrency);
      }
      return builder.build();
    } catch (IllegalArgumentException e) {
      throw usage(e.getMessage());
    }
  }

  /** The progress display on {@code err}: none with --quiet, the bar with --progress. */
  ProgressListener progress(PrintWriter err) {
    if (quiet) {
      return ProgressListener.none();
    }
    return BenchProgress.of(progress ? ProgressStyle.BAR : progressStyle, err);
  }

  private int writeReport(BenchResult result, PrintWriter err) {
    try {
      Files.writeString(html, HtmlReport.render(result));
    } catch (IOException e) {
      err.println("penstock bench: cannot write " + html + ": " + e.getMessage());
      return 1;
    }
    if (!quiet) {
      err.println("report: " + html.toAbsolutePath());
    }
    return 0;
  }

  private ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  /** Turns a parser's IllegalArgumentException into picocli's conversion error. */
  abstract static class Converter<T> implements ITypeConverter<T> {
    @Override
    public T convert(String value) {
      try {
        return parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }

    abstract T parse(String value);
  }

  static final class RateConverter extends Converter<Rate> {
    @Override
    Rate parse(String value) {
      return Rate.parse(value);
    }
  }

  static final class DurationConverter extends Converter<Duration> {
    @Override
    Duration parse(String value) {
      return Durations.parse(value);
    }
  }

  static final class HeaderConverter extends Converter<Header> {
    @Override
    Header parse(String value) {
      return Header.parse(value);
    }
  }

  static final class EndpointConverter extends Converter<Endpoint> {
    @Override
    Endpoint parse(String value) {
      return Endpoint.parse(value);
    }
  }
}
