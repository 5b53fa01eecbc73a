package dev.penstock.cli;

import dev.penstock.mock.FaultKind;
import dev.penstock.mock.FaultRates;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockConfigLoader;
import dev.penstock.mock.MockServer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code penstock mock}: runs the provider simulator until interrupted. */
@Command(
    name = "mock",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a rate-limited OpenAI-compatible provider simulator (see docs/mock.md).",
      "Each key has its own RPM/TPM limits over a sliding 60 s window; over a limit it answers 429"
          + " like OpenAI. Stats: GET /__stats; reset: POST /__reset."
    })
final class MockCommand implements Callable<Integer> {
  @Option(names = "--config", description = "YAML file with per-key settings (see docs/mock.md).")
  @Nullable Path config;

  @Option(
      names = "--host",
      defaultValue = "127.0.0.1",
      description = "Address to bind (default: ${DEFAULT-VALUE}).")
  String host = "127.0.0.1";

  @Option(
      names = "--port",
      defaultValue = "9000",
      description = "Port (default: ${DEFAULT-VALUE}; 0 = any free port).")
  int port = 9000;

  @Option(
      names = "--keys",
      defaultValue = "6",
      description = "How many keys to generate (default: ${DEFAULT-VALUE}).")
  int keys = 6;

  @Option(
      names = "--key",
      paramLabel = "VALUE",
      description = "A key value to accept; repeatable. Replaces the generated keys.")
  List<String> keyValues = new ArrayList<>();

  @Option(
      names = "--rpm",
      defaultValue = "200",
      description = "Requests per minute per key (default: ${DEFAULT-VALUE}).")
  long rpm = 200;

  @Option(
      names = "--tpm",
      defaultValue = "40000",
      description = "Tokens per minute per key (default: ${DEFAULT-VALUE}).")
  long tpm = 40_000;

  @Option(
      names = "--ttft-ms",
      defaultValue = "300",
      description = "Time to first token, ms (default: ${DEFAULT-VALUE}).")
  long ttftMillis = 300;

  @Option(
      names = "--ms-per-token",
      defaultValue = "10",
      description = "Time per output token, ms (default: ${DEFAULT-VALUE}).")
  double millisPerToken = 10;

  @Option(
      names = "--jitter",
      defaultValue = "0.1",
      // picocli formats descriptions with String.format: a lone % is a broken format specifier.
      description = "Latency jitter, a fraction: 0.1 = ±10%% (default: ${DEFAULT-VALUE}).")
  double jitter = 0.1;

  @Option(
      names = "--output-tokens",
      defaultValue = "32",
      description =
          "Answer length in tokens, before the request's cap (default: ${DEFAULT-VALUE}).")
  int outputTokens = 32;

  @Option(
      names = "--default-max-tokens",
      defaultValue = "256",
      description = "Output cap charged when a request sets none (default: ${DEFAULT-VALUE}).")
  int defaultMaxTokens = 256;

  @Option(
      names = "--fault",
      paramLabel = "KIND=RATE",
      description =
          "Inject a fault into a share of requests; repeatable. Kinds: 500, 502, 503, reset, hang, malformed, cut, quota.")
  Map<String, Double> faults = new java.util.LinkedHashMap<>();

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "Seed for jitter and fault draws (default: ${DEFAULT-VALUE}).")
  long seed = 42;

  @Override
  public Integer call() throws Exception {
    MockConfig mockConfig = buildConfig();
    MockServer server = MockServer.start(mockConfig);
    printBanner(System.out, server);
    UntilInterrupted.run(server);
    return 0;
  }

  MockConfig buildConfig() throws Exception {
    if (config != null) {
      return MockConfigLoader.load(config);
    }
    MockConfig.Builder builder =
        MockConfig.builder()
            .host(host)
            .port(port)
            .latency(new LatencyModel(ttftMillis, millisPerToken, jitter))
            .outputTokens(outputTokens)
            .defaultMaxTokens(defaultMaxTokens)
            .seed(seed)
            .faults(faultRates());
    List<String> values = keyValues.isEmpty() ? generated(keys) : keyValues;
    for (int i = 0; i < values.size(); i++) {
      builder.addKey(KeySpec.of("key-" + i, values.get(i), rpm, tpm));
    }
    return builder.build();
  }

  private FaultRates faultRates() {
    Map<FaultKind, Double> rates = new EnumMap<>(FaultKind.class);
    faults.forEach((kind, rate) -> rates.put(FaultKind.fromWireName(kind), rate));
    return new FaultRates(rates);
  }

  private static List<String> generated(int count) {
    if (count < 1) {
      throw new IllegalArgumentException("--keys must be at least 1");
    }
    SecureRandom random = new SecureRandom();
    List<String> values = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      byte[] bytes = new byte[12];
      random.nextBytes(bytes);
      values.add("sk-mock-" + i + "-" + HexFormat.of().formatHex(bytes));
    }
    return values;
  }

  private static void printBanner(PrintStream out, MockServer server) {
    MockConfig c = server.config();
    out.print( // one write: see ServeCommand's ready line
        "penstock mock: an OpenAI-compatible provider simulator at %s%n"
            .formatted(server.baseUrl()));
    out.printf(
        "  latency: first token %d ms + %.1f ms/token (±%.0f%%); answers of %d tokens%n",
        c.latency().ttftMillis(),
        c.latency().millisPerToken(),
        c.latency().jitter() * 100,
        c.outputTokens());
    if (!c.faults().isEmpty()) {
      out.printf("  faults: %s%n", c.faults().rates());
    }
    out.println("  keys (simulated; printed so that you can use them):");
    for (KeySpec key : server.keys()) {
      out.printf(
          "    %-8s %s  %d RPM, %d TPM%s%n",
          key.name(),
          key.secret(),
          key.rpm(),
          key.tpm(),
          key.port() > 0 ? "  port " + key.port() : "");
    }
    String root = server.baseUrl().replaceFirst("/v1$", "");
    out.printf("  stats: GET %s/__stats   reset: POST %s/__reset   (Ctrl-C stops)%n", root, root);
    out.flush();
  }
}
