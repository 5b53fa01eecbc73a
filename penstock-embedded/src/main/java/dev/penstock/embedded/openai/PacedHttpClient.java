package dev.penstock.embedded.openai;

import com.openai.core.RequestOptions;
import com.openai.core.http.Headers;
import com.openai.core.http.HttpClient;
import com.openai.core.http.HttpRequest;
import com.openai.core.http.HttpRequestBody;
import com.openai.core.http.HttpResponse;
import com.openai.core.http.QueryParams;
import com.openai.errors.OpenAIIoException;
import dev.penstock.embedded.Penstock;
import dev.penstock.embedded.PenstockRequest;
import dev.penstock.embedded.PenstockResponse;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

/**
 * The SDK's HTTP transport ({@link HttpClient}, supplied through {@code
 * ClientOptions.builder().httpClient(...)}) made of a {@link Penstock}: each SDK call becomes a
 * {@link PenstockRequest} — its path relative to {@code /v1}, its headers and body — which Penstock
 * paces over the pool and sends with the reserved deployment's URL and key. The SDK's own base URL
 * and API key are not used.
 *
 * <p>Synchronous calls block the SDK's calling thread while they wait for capacity; asynchronous
 * ones wait on a thread of Penstock's, and cancelling their future withdraws them. A streamed
 * answer's body is the upstream's SSE stream as it arrives; its reservation is settled when the SDK
 * closes the stream. Closing this transport does not close the {@link Penstock}, which the
 * application owns.
 */
final class PacedHttpClient implements HttpClient {
  private final Penstock penstock;

  PacedHttpClient(Penstock penstock) {
    this.penstock = penstock;
  }

  @Override
  public HttpResponse execute(HttpRequest request, RequestOptions options) {
    try {
      return new Answer(penstock.call(translate(request)));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OpenAIIoException("interrupted while the call waited or ran", e);
    }
  }

  @Override
  public CompletableFuture<HttpResponse> executeAsync(HttpRequest request, RequestOptions options) {
    CompletableFuture<PenstockResponse> call = penstock.callAsync(translate(request));
    CompletableFuture<HttpResponse> answer = new CompletableFuture<>();
    var _ =
        call.whenComplete(
            (response, error) -> {
              if (error != null) {
                answer.completeExceptionally(
                    error instanceof CancellationException
                        ? error
                        : new OpenAIIoException("the call failed", error));
              } else if (!answer.complete(new Answer(response))) {
                response.close(); // the SDK gave up on it
              }
            });
    var _ =
        answer.whenComplete(
            (response, error) -> {
              if (answer.isCancelled()) {
                call.cancel(true); // withdraws it, or aborts its upstream request
              }
            });
    return answer;
  }

  @Override
  public void close() {
    // The application owns the Penstock and closes it itself.
  }

  static PenstockRequest translate(HttpRequest request) {
    StringJoiner path = new StringJoiner("/");
    for (String segment : request.pathSegments()) {
      path.add(URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"));
    }
    String query = query(request.queryParams());
    Map<String, List<String>> headers = new LinkedHashMap<>();
    Headers sdkHeaders = request.headers();
    for (String name : sdkHeaders.names()) {
      headers.put(name, sdkHeaders.values(name));
    }
    byte[] body = new byte[0];
    HttpRequestBody sdkBody = request.body();
    if (sdkBody != null) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      sdkBody.writeTo(out);
      body = out.toByteArray();
      if (!headers.containsKey("Content-Type")) {
        headers.put("Content-Type", List.of(sdkBody.contentType()));
      }
    }
    return new PenstockRequest(
        request.method().name(),
        query.isEmpty() ? path.toString() : path + "?" + query,
        headers,
        body);
  }

  private static String query(QueryParams params) {
    StringJoiner query = new StringJoiner("&");
    for (String key : params.keys()) {
      for (String value : params.values(key)) {
        query.add(
            URLEncoder.encode(key, StandardCharsets.UTF_8)
                + "="
                + URLEncoder.encode(value, StandardCharsets.UTF_8));
      }
    }
    return query.toString();
  }

  /** Penstock's answer as the SDK reads it. */
  private static final class Answer implements HttpResponse {
    private final PenstockResponse response;
    private final Headers headers;

    Answer(PenstockResponse response) {
      this.response = response;
      Headers.Builder builder = Headers.builder();
      response.headers().forEach(builder::put);
      this.headers = builder.build();
    }

    @Override
    public int statusCode() {
      return response.status();
    }

    @Override
    public Headers headers() {
      return headers;
    }

    @Override
    public InputStream body() {
      return response.body();
    }

    @Override
    public void close() {
      response.close();
    }
  }
}
