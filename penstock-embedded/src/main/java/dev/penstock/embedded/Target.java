package dev.penstock.embedded;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * How to reach one deployment: its URL scheme (OpenAI or Azure), credential header, timeouts and
 * the HTTP client that carries its calls. The only place an upstream key is read.
 */
final class Target {
  /**
   * Headers never passed on: the caller's credential (the deployment's replaces it), Penstock's own
   * options, and those the JDK client sets itself (it refuses them).
   */
  private static final Set<String> DROPPED =
      Set.of(
          "authorization",
          "api-key",
          "host",
          "connection",
          "content-length",
          "expect",
          "upgrade",
          "accept-encoding");

  private final Deployment deployment;
  private final HttpClient client;
  private final Duration firstByteTimeout;

  Target(Deployment deployment, HttpClient client, Settings settings) {
    this.deployment = deployment;
    this.client = client;
    this.firstByteTimeout =
        deployment.firstByteTimeout().isZero()
            ? settings.firstByteTimeout()
            : deployment.firstByteTimeout();
  }

  String name() {
    return deployment.name();
  }

  /** The model name the upstream knows for {@code publicModel}. */
  String upstreamModel(String publicModel) {
    return deployment.upstreamModelFor(publicModel);
  }

  HttpClient client() {
    return client;
  }

  /** The upstream request for a call to {@code path} (relative to /v1) of {@code publicModel}. */
  HttpRequest request(PenstockRequest call, String publicModel, byte[] body) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(uri(call.path(), publicModel)).timeout(firstByteTimeout);
    for (Map.Entry<String, List<String>> header : call.headers().entrySet()) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (!DROPPED.contains(name) && !name.startsWith("x-penstock-")) {
        header.getValue().forEach(value -> request.header(header.getKey(), value));
      }
    }
    if (deployment.provider() == Deployment.Provider.AZURE) {
      request.header("api-key", deployment.apiKey());
    } else {
      request.header("Authorization", "Bearer " + deployment.apiKey());
    }
    HttpRequest.BodyPublisher publisher =
        body.length == 0
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(body);
    return request.method(call.method(), publisher).build();
  }

  /**
   * Azure serves chat, completions and embeddings under the deployment's own path and the Responses
   * API at {@code /openai/responses}, each with its {@code api-version}.
   */
  private URI uri(String path, String publicModel) {
    String base = deployment.baseUrl().toString();
    if (deployment.provider() != Deployment.Provider.AZURE) {
      return URI.create(base + "/" + path);
    }
    String version =
        "api-version=" + URLEncoder.encode(deployment.apiVersion(), StandardCharsets.UTF_8);
    String joined = path + (path.contains("?") ? "&" : "?") + version;
    if (path.startsWith("responses")) {
      return URI.create(base + "/openai/" + joined);
    }
    return URI.create(
        base
            + "/openai/deployments/"
            + URLEncoder.encode(deployment.upstreamModelFor(publicModel), StandardCharsets.UTF_8)
            + "/"
            + joined);
  }
}
