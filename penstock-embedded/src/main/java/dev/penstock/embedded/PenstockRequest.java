package dev.penstock.embedded;

import dev.penstock.core.queue.Priority;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One call through Penstock: an OpenAI API request addressed relative to {@code /v1} (e.g. {@code
 * chat/completions}, {@code embeddings}, {@code models?limit=5}), its headers and body. The body's
 * {@code model} chooses the pool; Penstock adds the deployment's URL and credential, so the caller
 * sends neither (an {@code Authorization} or {@code api-key} header is dropped).
 *
 * <p>Two optional headers carry the gateway's per-request options: {@code x-penstock-priority}
 * ({@code high}, {@code normal}, {@code low}) and {@code x-penstock-timeout-ms} (the deadline,
 * queue wait included). Like every {@code x-penstock-*} header they are never sent upstream.
 */
public final class PenstockRequest {
  private final String method;
  private final String path;
  private final Map<String, List<String>> headers;
  private final byte[] body;

  /**
   * A request; {@code body} is not copied: do not change it afterwards.
   *
   * @param method {@code POST}, {@code GET}, ...
   * @param path relative to {@code /v1}, with its query if any (a leading slash is dropped)
   * @param headers header names are case-insensitive
   */
  public PenstockRequest(
      String method, String path, Map<String, List<String>> headers, byte[] body) {
    TreeMap<String, List<String>> copy = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    headers.forEach((name, values) -> copy.put(name, List.copyOf(values)));
    String relative = path;
    while (relative.startsWith("/")) {
      relative = relative.substring(1);
    }
    this.method = method.toUpperCase(Locale.ROOT);
    this.path = relative;
    this.headers = java.util.Collections.unmodifiableMap(copy);
    this.body = body;
  }

  public String method() {
    return method;
  }

  public String path() {
    return path;
  }

  public Map<String, List<String>> headers() {
    return headers;
  }

  /** The body as given (not a copy). */
  public byte[] body() {
    return body;
  }

  /** A {@code POST} of a JSON body, e.g. {@code post("chat/completions", json)}. */
  public static PenstockRequest post(String path, byte[] json) {
    return new PenstockRequest(
        "POST", path, Map.of("Content-Type", List.of("application/json")), json);
  }

  /** The same request with one more header. */
  public PenstockRequest withHeader(String name, String value) {
    TreeMap<String, List<String>> copy = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    copy.putAll(headers);
    copy.put(name, List.of(value));
    return new PenstockRequest(method, path, copy, body);
  }

  /** The same request at {@code priority}. */
  public PenstockRequest withPriority(Priority priority) {
    return withHeader("x-penstock-priority", priority.wireName());
  }

  /** The same request with its own deadline, queue wait included. */
  public PenstockRequest withTimeout(Duration timeout) {
    return withHeader("x-penstock-timeout-ms", Long.toString(timeout.toMillis()));
  }

  /** A header's first value. */
  public Optional<String> header(String name) {
    List<String> values = headers.get(name);
    return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.getFirst());
  }

  /** The path without its query: the endpoint. */
  String endpoint() {
    int q = path.indexOf('?');
    return q < 0 ? path : path.substring(0, q);
  }
}
