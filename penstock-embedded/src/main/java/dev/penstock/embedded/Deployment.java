package dev.penstock.embedded;

import dev.penstock.core.limit.TpmCharge;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * One upstream deployment: endpoint, credential, model and limits — the fields of a deployment in
 * the gateway's YAML ({@code models.<name>.deployments[]}), with the same defaults.
 *
 * @param baseUrl the API root, e.g. {@code https://api.openai.com/v1} (no trailing slash)
 * @param apiKey the upstream credential; never printed ({@link #toString()} hides it)
 * @param upstreamModel the model name the upstream knows; the public name when empty
 * @param maxConcurrency the most requests in flight at once, 0 for no limit
 * @param priority the tier: 0 first, higher tiers only when the lower ones are full or unhealthy
 * @param weight the share among deployments of the same tier
 * @param apiVersion Azure's {@code api-version} (provider {@code azure} only)
 * @param connectTimeout how long connecting may take; {@link Duration#ZERO} for {@link
 *     Settings#connectTimeout()}
 * @param firstByteTimeout how long the upstream may think before its answer's headers arrive;
 *     {@link Duration#ZERO} for {@link Settings#firstByteTimeout()}
 */
public record Deployment(
    String name,
    Provider provider,
    URI baseUrl,
    String apiKey,
    String upstreamModel,
    long rpm,
    long tpm,
    int maxConcurrency,
    int priority,
    double weight,
    TpmCharge tpmCharge,
    String apiVersion,
    Duration connectTimeout,
    Duration firstByteTimeout) {

  /** How requests are addressed and authenticated. */
  public enum Provider {
    /** {@code {base_url}/chat/completions}, {@code Authorization: Bearer}. */
    OPENAI,
    /**
     * {@code {base_url}/openai/deployments/{upstream_model}/chat/completions?api-version=...},
     * {@code api-key} header.
     */
    AZURE
  }

  public Deployment {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(baseUrl, "baseUrl");
    Objects.requireNonNull(apiKey, "apiKey");
    if (name.isBlank()) {
      throw new IllegalArgumentException("a deployment needs a name");
    }
    String scheme = baseUrl.getScheme() == null ? "" : baseUrl.getScheme();
    if (!(scheme.equals("http") || scheme.equals("https")) || baseUrl.getHost() == null) {
      throw new IllegalArgumentException(
          "deployment "
              + name
              + ": base_url must be an http(s) URL such as https://api.openai.com/v1");
    }
    if (apiKey.isBlank() || apiKey.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      // It goes into a header: a CR or LF would end the header and begin another.
      throw new IllegalArgumentException(
          "deployment " + name + ": api_key is empty or contains a control character");
    }
    if (rpm < 1 || tpm < 1) {
      throw new IllegalArgumentException("deployment " + name + ": rpm and tpm must be at least 1");
    }
    if (maxConcurrency < 0 || priority < 0 || !(weight > 0)) {
      throw new IllegalArgumentException(
          "deployment " + name + ": max_concurrency and priority must not be negative, weight > 0");
    }
    if (connectTimeout.isNegative() || firstByteTimeout.isNegative()) {
      throw new IllegalArgumentException("deployment " + name + ": timeouts must not be negative");
    }
    if (provider == Provider.AZURE && apiVersion.isBlank()) {
      throw new IllegalArgumentException(
          "deployment " + name + ": api_version is required for provider azure");
    }
  }

  /** A builder with the gateway's defaults; {@code name}, base URL, key, rpm and tpm are needed. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** The upstream's model name for a request to {@code publicModel}. */
  String upstreamModelFor(String publicModel) {
    return upstreamModel.isEmpty() ? publicModel : upstreamModel;
  }

  @Override
  public String toString() {
    // The key never reaches a log line through toString().
    return "Deployment[" + name + ", " + baseUrl + ", rpm=" + rpm + ", tpm=" + tpm + "]";
  }

  /** Builds a {@link Deployment}; unset fields take the gateway's defaults. */
  public static final class Builder {
    private final String name;
    private Provider provider = Provider.OPENAI;
    private URI baseUrl = URI.create("https://api.openai.com/v1");
    private String apiKey = "";
    private String upstreamModel = "";
    private long rpm;
    private long tpm;
    private int maxConcurrency;
    private int priority;
    private double weight = 1;
    private TpmCharge tpmCharge = TpmCharge.ESTIMATE;
    private String apiVersion = "";
    private Duration connectTimeout = Duration.ZERO;
    private Duration firstByteTimeout = Duration.ZERO;

    private Builder(String name) {
      this.name = name;
    }

    public Builder provider(Provider value) {
      provider = value;
      return this;
    }

    public Builder baseUrl(String value) {
      baseUrl = URI.create(value.endsWith("/") ? value.substring(0, value.length() - 1) : value);
      return this;
    }

    public Builder apiKey(String value) {
      apiKey = value;
      return this;
    }

    public Builder upstreamModel(String value) {
      upstreamModel = value;
      return this;
    }

    public Builder rpm(long value) {
      rpm = value;
      return this;
    }

    public Builder tpm(long value) {
      tpm = value;
      return this;
    }

    public Builder maxConcurrency(int value) {
      maxConcurrency = value;
      return this;
    }

    public Builder priority(int value) {
      priority = value;
      return this;
    }

    public Builder weight(double value) {
      weight = value;
      return this;
    }

    public Builder tpmCharge(TpmCharge value) {
      tpmCharge = value;
      return this;
    }

    public Builder apiVersion(String value) {
      apiVersion = value;
      return this;
    }

    public Builder connectTimeout(Duration value) {
      connectTimeout = value;
      return this;
    }

    public Builder firstByteTimeout(Duration value) {
      firstByteTimeout = value;
      return this;
    }

    public Deployment build() {
      return new Deployment(
          name,
          provider,
          baseUrl,
          apiKey,
          upstreamModel,
          rpm,
          tpm,
          maxConcurrency,
          priority,
          weight,
          tpmCharge,
          apiVersion,
          connectTimeout,
          firstByteTimeout);
    }
  }
}
