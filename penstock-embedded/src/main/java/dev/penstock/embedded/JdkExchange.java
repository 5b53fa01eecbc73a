package dev.penstock.embedded;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.SubmissionPublisher;
import java.util.function.Consumer;
import javax.net.ssl.SSLSession;

/**
 * The {@link java.net.http} face of {@link Penstock#send}: a JDK request's path and body in, the
 * answer delivered to the caller's {@link HttpResponse.BodyHandler} out.
 *
 * <p>The body is pushed to the handler's subscriber by a thread of Penstock's ({@code
 * penstock-body-*}) through a {@link SubmissionPublisher}, which honours the subscriber's demand: a
 * handler that completes at once ({@code ofInputStream}) gets its stream while the pusher is still
 * reading, one that waits for the whole body ({@code ofString}) gets it when the pusher is done.
 */
final class JdkExchange {
  private JdkExchange() {}

  /** The path after {@code /v1/} (or the whole path when it has none), with the query. */
  static String relativePath(URI uri) {
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    int v1 = path.indexOf("/v1/");
    String relative = v1 >= 0 ? path.substring(v1 + 4) : path;
    return uri.getRawQuery() == null ? relative : relative + "?" + uri.getRawQuery();
  }

  /** The request's body, collected from its publisher (a JDK request's body is a publisher). */
  static byte[] bodyOf(HttpRequest request) throws IOException, InterruptedException {
    Optional<HttpRequest.BodyPublisher> publisher = request.bodyPublisher();
    if (publisher.isEmpty() || publisher.get().contentLength() == 0) {
      return new byte[0];
    }
    CompletableFuture<byte[]> bytes = new CompletableFuture<>();
    publisher
        .get()
        .subscribe(
            new Flow.Subscriber<ByteBuffer>() {
              private final ByteArrayOutputStream out = new ByteArrayOutputStream();

              @Override
              public void onSubscribe(Flow.Subscription subscription) {
                subscription.request(Long.MAX_VALUE);
              }

              @Override
              public void onNext(ByteBuffer item) {
                byte[] chunk = new byte[item.remaining()];
                item.get(chunk);
                out.write(chunk, 0, chunk.length);
              }

              @Override
              public void onError(Throwable error) {
                bytes.completeExceptionally(error);
              }

              @Override
              public void onComplete() {
                bytes.complete(out.toByteArray());
              }
            });
    try {
      return bytes.get();
    } catch (ExecutionException e) {
      throw new IOException("could not read the request's body", e.getCause());
    }
  }

  /** Delivers {@code response} to {@code handler}'s subscriber and waits for its body. */
  static <T> HttpResponse<T> deliver(
      HttpRequest request,
      PenstockResponse response,
      HttpResponse.BodyHandler<T> handler,
      Consumer<Runnable> threads)
      throws IOException, InterruptedException {
    HttpHeaders headers = HttpHeaders.of(response.headers(), (name, value) -> true);
    HttpResponse.ResponseInfo info =
        new HttpResponse.ResponseInfo() {
          @Override
          public int statusCode() {
            return response.status();
          }

          @Override
          public HttpHeaders headers() {
            return headers;
          }

          @Override
          public HttpClient.Version version() {
            return HttpClient.Version.HTTP_1_1;
          }
        };
    HttpResponse.BodySubscriber<T> subscriber = handler.apply(info);
    Executor direct = Runnable::run; // delivery runs on the pusher's own thread
    SubmissionPublisher<List<ByteBuffer>> publisher = new SubmissionPublisher<>(direct, 16);
    publisher.subscribe(subscriber);
    threads.accept(() -> push(response.body(), publisher));
    try {
      T body = subscriber.getBody().toCompletableFuture().get();
      return new Answer<>(response.status(), headers, body, request);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    }
  }

  /** Reads the body to its end, publishing chunks as demanded; stops when nobody listens. */
  private static void push(InputStream body, SubmissionPublisher<List<ByteBuffer>> publisher) {
    try (body) {
      byte[] buffer = new byte[16 * 1024];
      int n;
      while ((n = body.read(buffer)) >= 0) {
        if (publisher.getNumberOfSubscribers() == 0) {
          return; // the subscriber cancelled (its InputStream was closed): stop reading
        }
        if (n > 0) {
          publisher.submit(List.of(ByteBuffer.wrap(java.util.Arrays.copyOf(buffer, n))));
        }
      }
      publisher.close();
    } catch (IOException e) {
      publisher.closeExceptionally(e);
    }
  }

  /** A finished exchange, as the JDK client would hand it back. */
  private record Answer<T>(int statusCode, HttpHeaders headers, T body, HttpRequest request)
      implements HttpResponse<T> {
    @Override
    public Optional<HttpResponse<T>> previousResponse() {
      return Optional.empty();
    }

    @Override
    public Optional<SSLSession> sslSession() {
      return Optional.empty();
    }

    @Override
    public URI uri() {
      return request.uri();
    }

    @Override
    public HttpClient.Version version() {
      return HttpClient.Version.HTTP_1_1;
    }
  }
}
