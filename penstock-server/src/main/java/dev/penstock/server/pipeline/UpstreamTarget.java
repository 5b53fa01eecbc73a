package dev.penstock.server.pipeline;

import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.config.GatewayConfig.DeploymentConfig;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.OpenAiRequest;
import dev.penstock.server.openai.RequestReader;
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

  public UpstreamTarget(DeploymentConfig config) {
    this.config = config;
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

  public String name() {
    return config.name();
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
        request.model().equals(config.upstreamModel())
            ? request.body()
            : RequestReader.withModel(request.body(), config.upstreamModel());
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
