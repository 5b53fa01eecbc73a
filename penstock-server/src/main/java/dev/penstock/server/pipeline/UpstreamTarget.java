package dev.penstock.server.pipeline;

import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.config.GatewayConfig.DeploymentConfig;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.OpenAiRequest;
import dev.penstock.server.openai.UpstreamBody;
import dev.penstock.server.upstream.UpstreamCall;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How to address one deployment: its URL scheme (OpenAI or Azure), credential header and model
 * name. The only place an upstream key is read.
 */
public final class UpstreamTarget {
  private final DeploymentConfig config;
  private final java.util.EnumMap<Endpoint, URI> uris = new java.util.EnumMap<>(Endpoint.class);

  /** Whether a stream may be sent with {@code stream_options} to ask for its usage chunk. */
  private final boolean acceptsStreamOptions;

  public UpstreamTarget(DeploymentConfig config) {
    this.config = config;
    this.acceptsStreamOptions = acceptsStreamOptions(config.provider(), config.apiVersion());
    for (Endpoint endpoint : Endpoint.values()) {
      uris.put(endpoint, uri(endpoint));
    }
  }

  /**
   * Azure serves chat, legacy completions and embeddings under the deployment's own path, and the
   * Responses API at {@code /openai/responses} with the deployment named as the body's {@code
   * model} (learn.microsoft.com, "Azure OpenAI Responses API"; api-version 2025-03-01-preview or
   * later). The body carries {@code upstream_model} either way.
   */
  private URI uri(Endpoint endpoint) {
    if (config.provider() == GatewayConfig.Provider.AZURE) {
      String version =
          "?api-version=" + URLEncoder.encode(config.apiVersion(), StandardCharsets.UTF_8);
      if (endpoint == Endpoint.RESPONSES) {
        return URI.create(config.baseUrl() + "/openai/responses" + version);
      }
      return URI.create(
          config.baseUrl()
              + "/openai/deployments/"
              + URLEncoder.encode(config.upstreamModel(), StandardCharsets.UTF_8)
              + endpoint.path()
              + version);
    }
    return URI.create(config.baseUrl() + endpoint.path());
  }

  /**
   * Azure OpenAI refuses {@code stream_options} in the api-versions before it learnt the field
   * ({@code 400 Unrecognized request argument supplied: stream_options}); the GA version 2024-10-21
   * has it, and so does every later one. On an older version the gateway does not ask for a
   * stream's usage: such a stream is relayed, uncounted, as before. A version that is not a date
   * ({@code preview}, {@code latest}) names the current API, which has it.
   */
  static boolean acceptsStreamOptions(GatewayConfig.Provider provider, String apiVersion) {
    if (provider != GatewayConfig.Provider.AZURE
        || apiVersion.length() < 10
        || !apiVersion.substring(0, 10).matches("\\d{4}-\\d{2}-\\d{2}")) {
      return true;
    }
    return apiVersion.substring(0, 10).compareTo("2024-10-21") >= 0;
  }

  public String name() {
    return config.name();
  }

  /** The model name the upstream knows (the price of a request may be set for it). */
  public String upstreamModel() {
    return config.upstreamModel();
  }

  /** How often to check this deployment actively, in milliseconds; 0 = never. */
  public long healthCheckIntervalMillis() {
    return config.healthCheckIntervalMillis();
  }

  /**
   * The active health check: {@code GET} of the upstream's models list, which uses no tokens. Holds
   * the credential — never log it.
   */
  public java.net.http.HttpRequest healthCheck() {
    URI uri =
        config.provider() == GatewayConfig.Provider.AZURE
            ? URI.create(
                config.baseUrl()
                    + "/openai/models?api-version="
                    + URLEncoder.encode(config.apiVersion(), StandardCharsets.UTF_8))
            : URI.create(config.baseUrl() + "/models");
    java.net.http.HttpRequest.Builder request =
        java.net.http.HttpRequest.newBuilder(uri)
            .GET()
            .timeout(Duration.ofMillis(config.readTimeoutMillis()));
    if (config.provider() == GatewayConfig.Provider.AZURE) {
      request.header("api-key", config.apiKey().reveal());
    } else {
      request.header("Authorization", "Bearer " + config.apiKey().reveal());
    }
    return request.build();
  }

  /**
   * The call for {@code request}, with the deployment's timeouts. The request's deadline does not
   * cut an attempt that has started: its quota is spent, and its answer is worth more than an error
   * a moment sooner (the deadline bounds the wait for capacity and every retry instead).
   */
  public UpstreamCall call(OpenAiRequest request) {
    byte[] body =
        UpstreamBody.of(
            request.body(),
            request.model().equals(config.upstreamModel()) ? null : config.upstreamModel(),
            !request.clientWantsUsage() && acceptsStreamOptions);
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Content-Type", "application/json");
    headers.put("Accept", request.stream() ? "text/event-stream" : "application/json");
    if (config.provider() == GatewayConfig.Provider.AZURE) {
      headers.put("api-key", config.apiKey().reveal());
    } else {
      headers.put("Authorization", "Bearer " + config.apiKey().reveal());
    }
    return new UpstreamCall(
        Objects.requireNonNull(uris.get(request.endpoint()), "the constructor maps every endpoint"),
        headers,
        body,
        Duration.ofMillis(config.connectTimeoutMillis()),
        Duration.ofMillis(config.firstByteTimeoutMillis()),
        Duration.ofMillis(config.readTimeoutMillis()));
  }
}
