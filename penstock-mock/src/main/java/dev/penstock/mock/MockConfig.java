package dev.penstock.mock;

import java.util.ArrayList;
import java.util.List;

/**
 * Everything the simulator needs to start; immutable. Built from flags or YAML by {@link
 * MockConfigLoader} and the CLI, through {@link #builder()}.
 *
 * @param outputTokens the length of a normal answer in tokens, before the request's output cap
 * @param defaultMaxTokens the output cap charged against TPM when a request names none
 * @param hangMillis how long a {@code hang} fault holds the request before dropping it
 * @param streamJsonStyle how the JSON inside streamed events is written: OpenAI's compact style, or
 *     a spaced, reordered one that tests a client's tolerance (see {@link StreamJsonStyle})
 */
public record MockConfig(
    String host,
    int port,
    List<KeySpec> keys,
    LatencyModel latency,
    int outputTokens,
    int defaultMaxTokens,
    int embeddingDimensions,
    FaultRates faults,
    List<String> models,
    long seed,
    long hangMillis,
    StreamJsonStyle streamJsonStyle) {

  public static final List<String> DEFAULT_MODELS =
      List.of(
          "gpt-4o-mini",
          "gpt-4o",
          "gpt-4.1-mini",
          "gpt-5",
          "gpt-5-mini",
          "text-embedding-3-small",
          "text-embedding-3-large");

  public MockConfig {
    keys = List.copyOf(keys);
    models = List.copyOf(models);
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("the simulator needs at least one key");
    }
    if (keys.stream().map(KeySpec::name).distinct().count() != keys.size()) {
      throw new IllegalArgumentException("key names must be unique");
    }
    if (keys.stream().map(KeySpec::secret).distinct().count() != keys.size()) {
      throw new IllegalArgumentException("key values must be unique");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
    if (outputTokens < 1 || defaultMaxTokens < 1 || embeddingDimensions < 1) {
      throw new IllegalArgumentException(
          "output tokens, default max tokens and embedding dimensions must be at least 1");
    }
    if (hangMillis < 0) {
      throw new IllegalArgumentException("hang time must not be negative");
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds a {@link MockConfig}; every setting has a default except the keys. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private int port = 9000;
    private final List<KeySpec> keys = new ArrayList<>();
    private LatencyModel latency = new LatencyModel(300, 10, 0.1);
    private int outputTokens = 32;
    private int defaultMaxTokens = 256;
    private int embeddingDimensions = 1536;
    private FaultRates faults = FaultRates.NONE;
    private List<String> models = DEFAULT_MODELS;
    private long seed = 42;
    private long hangMillis = 600_000;
    private StreamJsonStyle streamJsonStyle = StreamJsonStyle.COMPACT;

    private Builder() {}

    public Builder host(String value) {
      host = value;
      return this;
    }

    public Builder port(int value) {
      port = value;
      return this;
    }

    public Builder addKey(KeySpec key) {
      keys.add(key);
      return this;
    }

    public Builder latency(LatencyModel value) {
      latency = value;
      return this;
    }

    public Builder outputTokens(int value) {
      outputTokens = value;
      return this;
    }

    public Builder defaultMaxTokens(int value) {
      defaultMaxTokens = value;
      return this;
    }

    public Builder embeddingDimensions(int value) {
      embeddingDimensions = value;
      return this;
    }

    public Builder faults(FaultRates value) {
      faults = value;
      return this;
    }

    public Builder models(List<String> value) {
      models = value;
      return this;
    }

    public Builder seed(long value) {
      seed = value;
      return this;
    }

    public Builder hangMillis(long value) {
      hangMillis = value;
      return this;
    }

    /** {@link StreamJsonStyle#COMPACT} (OpenAI's) unless set. */
    public Builder streamJsonStyle(StreamJsonStyle value) {
      streamJsonStyle = value;
      return this;
    }

    public MockConfig build() {
      return new MockConfig(
          host,
          port,
          keys,
          latency,
          outputTokens,
          defaultMaxTokens,
          embeddingDimensions,
          faults,
          models,
          seed,
          hangMillis,
          streamJsonStyle);
    }
  }
}
