package dev.penstock.cli.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Calls the gateway's admin API: JSON in and out, the admin key as bearer. Every failure becomes an
 * {@link AdminException} with one line for the user — the server's error message and status, or why
 * the gateway could not be reached — and never the admin key.
 *
 * <p>Blocking, one call at a time, on the caller's thread. Close it when done.
 */
final class AdminClient implements AutoCloseable {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
  private static final int MAX_MESSAGE_CHARS = 500;
  private static final String WHERE = "is it running there? Set --url or PENSTOCK_URL";

  /** Reads numbers as {@code BigDecimal}, so that costs print as the server wrote them. */
  static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

  /** An answer: the body as received (for {@code --json}) and parsed. */
  record Answer(String body, JsonNode json) {}

  private final URI baseUrl;
  private final @Nullable String adminKey;
  private final HttpClient http;

  /**
   * @param baseUrl the gateway, e.g. {@code http://127.0.0.1:8080} (no trailing slash)
   * @param adminKey the bearer, or null to send none (a gateway without {@code admin_key})
   */
  AdminClient(URI baseUrl, @Nullable String adminKey) {
    this.baseUrl = baseUrl;
    this.adminKey = adminKey;
    // HTTP/1.1: the admin API needs nothing more, and no h2c upgrade dance on every call.
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(CONNECT_TIMEOUT)
            .build();
  }

  Answer get(String pathAndQuery) {
    return send("GET", pathAndQuery, BodyPublishers.noBody());
  }

  Answer post(String path, JsonNode body) {
    return send("POST", path, json(body));
  }

  Answer patch(String path, JsonNode body) {
    return send("PATCH", path, json(body));
  }

  Answer delete(String path) {
    return send("DELETE", path, BodyPublishers.noBody());
  }

  /** {@code text} as one path segment or query value: every reserved character escaped. */
  static String encode(String text) {
    return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static BodyPublisher json(JsonNode body) {
    try {
      return BodyPublishers.ofString(JSON.writeValueAsString(body), StandardCharsets.UTF_8);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a JSON tree", e);
    }
  }

  private Answer send(String method, String pathAndQuery, BodyPublisher body) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(baseUrl + pathAndQuery))
            .timeout(REQUEST_TIMEOUT)
            .header("Accept", "application/json")
            .header("User-Agent", "penstock-cli")
            .method(method, body);
    if (!method.equals("GET") && !method.equals("DELETE")) {
      request.header("Content-Type", "application/json");
    }
    if (adminKey != null) {
      request.header("Authorization", "Bearer " + adminKey);
    }
    HttpResponse<String> response = exchange(request.build());
    if (response.statusCode() / 100 != 2) {
      throw new AdminException(errorLine(response.statusCode(), response.body()));
    }
    return new Answer(response.body(), parse(response.body()));
  }

  private HttpResponse<String> exchange(HttpRequest request) {
    try {
      return http.send(request, BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (HttpConnectTimeoutException e) {
      throw new AdminException(
          "cannot connect to the gateway at " + baseUrl + " (timed out); " + WHERE, e);
    } catch (HttpTimeoutException e) {
      throw new AdminException(
          "no answer from the gateway at "
              + baseUrl
              + " within "
              + REQUEST_TIMEOUT.toSeconds()
              + "s",
          e);
    } catch (ConnectException e) {
      throw new AdminException(
          "cannot connect to the gateway at " + baseUrl + " (" + why(e) + "); " + WHERE, e);
    } catch (IOException e) {
      throw new AdminException(
          "call to the gateway at " + baseUrl + " failed: " + oneLine(rootMessage(e)), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AdminException("interrupted", e);
    }
  }

  /**
   * Why a connection failed, in a few words. The JDK client reports a refused connection as a chain
   * of exceptions without a message; an unknown host has its own cause; anything else (no route to
   * host...) says so in some message of the chain.
   */
  private static String why(ConnectException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof UnresolvedAddressException) {
        return "unknown host";
      }
    }
    String message = rootMessage(e);
    return message.equals(e.getClass().getSimpleName())
            || message.toLowerCase(Locale.ROOT).contains("refused")
        ? "connection refused"
        : oneLine(message);
  }

  private static String rootMessage(Throwable e) {
    String message = e.getClass().getSimpleName();
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        message = t.getMessage();
      }
    }
    return message;
  }

  private JsonNode parse(String body) {
    if (body.isBlank()) {
      return JSON.createObjectNode();
    }
    try {
      return JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw new AdminException("the gateway at " + baseUrl + " answered something not JSON", e);
    }
  }

  /**
   * The line for an error answer: OpenAI's {@code {"error":{"message","param",...}}} when it is
   * that, else the start of whatever came back; and for a 401, which option sets the key.
   */
  private String errorLine(int status, String body) {
    StringBuilder line = new StringBuilder();
    JsonNode error = parseQuietly(body).path("error");
    String message = error.path("message").asText("");
    if (!message.isBlank()) {
      line.append(message);
    } else if (!body.isBlank()) {
      line.append(body);
    } else {
      line.append("error answer without a message");
    }
    line.append(" (HTTP ").append(status);
    String param = error.path("param").asText("");
    if (!param.isBlank()) {
      line.append(", param ").append(param);
    }
    line.append(')');
    if (status == 401) {
      line.append(
          adminKey == null
              ? "; no admin key was given: pass --admin-key or set PENSTOCK_ADMIN_KEY"
              : "; the admin key was refused: check --admin-key or PENSTOCK_ADMIN_KEY");
    }
    return redact(oneLine(line.toString()));
  }

  private static JsonNode parseQuietly(String body) {
    try {
      return JSON.readTree(body);
    } catch (JsonProcessingException e) {
      return JSON.createObjectNode();
    }
  }

  /** The key never reaches the terminal, even if a server were to echo it. */
  private String redact(String text) {
    return adminKey == null || adminKey.isEmpty() ? text : text.replace(adminKey, "****");
  }

  private static String oneLine(String text) {
    String line = text.strip().replaceAll("\\s+", " ");
    return line.length() <= MAX_MESSAGE_CHARS ? line : line.substring(0, MAX_MESSAGE_CHARS) + "…";
  }

  @Override
  public void close() {
    http.close();
  }
}
