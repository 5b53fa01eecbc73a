package dev.penstock.cli.bench;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What one bench run does: target, request shape and load. Immutable and validated on construction,
 * so a run never starts with a setting it cannot honour.
 *
 * <p>Build one with {@link #builder()}, whose defaults are the command line's.
 *
 * @param baseUrl the OpenAI-compatible base URL, e.g. {@code http://127.0.0.1:8080/v1}
 * @param apiKey sent as {@code Authorization: Bearer}
 * @param model the {@code model} field of every request
 * @param endpoint which endpoint to call
 * @param stream ask for server-sent events (chat, completions and responses only)
 * @param load open loop at a rate, or closed loop at a concurrency
 * @param duration how long to send; requests still in flight then get up to {@code timeout}
 * @param requestCap stop after this many requests (sent or dropped); {@link Long#MAX_VALUE} for no
 *     cap
 * @param promptTokens the approximate prompt size in o200k tokens
 * @param maxTokens the output cap sent with every request (not for embeddings)
 * @param headers extra request headers
 * @param timeout per request, from sending to the last byte of the answer
 * @param limitRpm the configured limit drawn on the throughput chart; 0 when none
 * @param limitTpm the configured limit drawn on the token chart; 0 when none
 * @param maxInFlight open loop only: a due request that would exceed this is dropped and counted
 */
public record BenchOptions(
    URI baseUrl,
    String apiKey,
    String model,
    Endpoint endpoint,
    boolean stream,
    LoadMode load,
    Duration duration,
    long requestCap,
    int promptTokens,
    int maxTokens,
    List<Header> headers,
    Duration timeout,
    long limitRpm,
    long limitTpm,
    int maxInFlight,
    long distinctPrompts) {

  public BenchOptions {
    headers = List.copyOf(headers);
    String scheme = baseUrl.getScheme();
    if ((!"http".equals(scheme) && !"https".equals(scheme)) || baseUrl.getHost() == null) {
      throw new IllegalArgumentException(
          "--url must be an http:// or https:// URL with a host, got '" + baseUrl + "'");
    }
    require(!model.isBlank(), "--model must not be empty");
    require(!stream || endpoint.streamable(), "--stream is not supported for " + endpoint.label());
    require(duration.isPositive(), "--duration must be positive");
    require(requestCap > 0, "--requests must be at least 1");
    require(promptTokens >= 1, "--prompt-tokens must be at least 1");
    require(maxTokens >= 1, "--max-tokens must be at least 1");
    require(timeout.isPositive(), "--timeout must be positive");
    require(limitRpm >= 0 && limitTpm >= 0, "--limit-rpm and --limit-tpm must not be negative");
    require(maxInFlight >= 1, "--max-inflight must be at least 1");
    require(distinctPrompts >= 0, "--distinct-prompts must not be negative");
  }

  /**
   * The prompt number of request {@code number}: itself, or with {@code --distinct-prompts N} one
   * of N, so that a response cache can answer the repeats.
   */
  public long promptNumber(long number) {
    return distinctPrompts > 0 ? number % distinctPrompts : number;
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }

  /** The same load for another length of time and no request cap: a warm-up. */
  public BenchOptions forWarmup(Duration warmup) {
    return new BenchOptions(
        baseUrl,
        apiKey,
        model,
        endpoint,
        stream,
        load,
        warmup,
        Long.MAX_VALUE,
        promptTokens,
        maxTokens,
        headers,
        timeout,
        limitRpm,
        limitTpm,
        maxInFlight,
        distinctPrompts);
  }

  /** Where requests go: the base URL with the endpoint's path appended. */
  public URI endpointUri() {
    String base = baseUrl.toString();
    return URI.create((base.endsWith("/") ? base : base + "/") + endpoint.path());
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds {@link BenchOptions}; every setting starts at the command line's default. */
  public static final class Builder {
    private URI baseUrl = URI.create("http://127.0.0.1:8080/v1");
    private String apiKey = "sk-penstock-bench";
    private String model = "gpt-4o-mini";
    private Endpoint endpoint = Endpoint.CHAT;
    private boolean stream;
    private LoadMode load = new LoadMode.ClosedLoop(8);
    private Duration duration = Duration.ofSeconds(30);
    private long distinctPrompts;
    private long requestCap = Long.MAX_VALUE;
    private int promptTokens = 64;
    private int maxTokens = 64;
    private final List<Header> headers = new ArrayList<>();
    private Duration timeout = Duration.ofSeconds(60);
    private long limitRpm;
    private long limitTpm;
    private int maxInFlight = 10_000;

    private Builder() {}

    public Builder baseUrl(URI baseUrl) {
      this.baseUrl = baseUrl;
      return this;
    }

    public Builder apiKey(String apiKey) {
      this.apiKey = apiKey;
      return this;
    }

    public Builder model(String model) {
      this.model = model;
      return this;
    }

    public Builder endpoint(Endpoint endpoint) {
      this.endpoint = endpoint;
      return this;
    }

    public Builder stream(boolean stream) {
      this.stream = stream;
      return this;
    }

    public Builder rate(Rate rate) {
      this.load = new LoadMode.OpenLoop(rate);
      return this;
    }

    public Builder concurrency(int concurrency) {
      this.load = new LoadMode.ClosedLoop(concurrency);
      return this;
    }

    public Builder duration(Duration duration) {
      this.duration = duration;
      return this;
    }

    public Builder requestCap(long requestCap) {
      this.requestCap = requestCap;
      return this;
    }

    public Builder promptTokens(int promptTokens) {
      this.promptTokens = promptTokens;
      return this;
    }

    public Builder maxTokens(int maxTokens) {
      this.maxTokens = maxTokens;
      return this;
    }

    public Builder header(Header header) {
      headers.add(header);
      return this;
    }

    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    public Builder limitRpm(long limitRpm) {
      this.limitRpm = limitRpm;
      return this;
    }

    public Builder limitTpm(long limitTpm) {
      this.limitTpm = limitTpm;
      return this;
    }

    public Builder maxInFlight(int maxInFlight) {
      this.maxInFlight = maxInFlight;
      return this;
    }

    public Builder distinctPrompts(long distinctPrompts) {
      this.distinctPrompts = distinctPrompts;
      return this;
    }

    /**
     * Checks the settings and makes the options.
     *
     * @throws IllegalArgumentException naming the offending option when a setting is invalid
     */
    public BenchOptions build() {
      return new BenchOptions(
          baseUrl,
          apiKey,
          model,
          endpoint,
          stream,
          load,
          duration,
          requestCap,
          promptTokens,
          maxTokens,
          headers,
          timeout,
          limitRpm,
          limitTpm,
          maxInFlight,
          distinctPrompts);
    }
  }
}
