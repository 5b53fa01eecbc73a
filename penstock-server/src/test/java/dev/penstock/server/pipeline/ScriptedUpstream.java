package dev.penstock.server.pipeline;

import dev.penstock.core.CancelSignal;
import dev.penstock.core.time.FakeTicker;
import dev.penstock.server.upstream.UpstreamCall;
import dev.penstock.server.upstream.UpstreamClient;
import dev.penstock.server.upstream.UpstreamResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * An {@link UpstreamClient} that answers from a script, as OkHttp's {@code MockWebServer} does:
 * each call takes the next scripted {@link Answer} — a value, never a socket — and is recorded
 * (where it went, what it sent, whether its response was closed). A call with nothing left in the
 * script fails the test.
 *
 * <p>A call's {@link CancelSignal} aborts it as the real clients do: a blocked call throws, and
 * reads of a response whose call was cancelled fail. Thread-safe: the request may run on its own
 * thread while the test scripts and inspects.
 */
final class ScriptedUpstream implements UpstreamClient {
  /** How long a blocking answer waits for its cancel before it fails the test. */
  private static final long BLOCK_LIMIT_SECONDS = 10;

  /** One scripted answer. */
  sealed interface Answer {}

  /** A whole answer: status, headers and body at once. */
  @SuppressWarnings("ArrayRecordComponent") // a script's value, never compared
  record Whole(int status, Map<String, String> headers, byte[] body) implements Answer {}

  /**
   * A {@code 200} SSE stream, read one chunk per {@code read}; after the chunks it ends, or throws
   * {@code breakWith} when that is set (a connection that broke, a stalled stream).
   */
  record Stream(Map<String, String> headers, List<byte[]> chunks, @Nullable IOException breakWith)
      implements Answer {}

  /** No connection could be made: the upstream never saw the call. */
  record Unreachable() implements Answer {}

  /** {@code send} throws {@code failure}: a first-byte timeout, a reset before the head. */
  record Throws(IOException failure) implements Answer {}

  /**
   * {@code send} blocks until the call's cancel signal fires, then throws as an aborted exchange
   * does.
   */
  record BlocksUntilCancelled() implements Answer {}

  /** The upstream thinks for {@code time} of the fake clock, then answers {@code then}. */
  record Thinks(Duration time, Answer then) implements Answer {}

  /** The answer depends on the request's body: for calls whose order the test cannot fix. */
  record ByBody(java.util.function.Function<String, Answer> answer) implements Answer {}

  /**
   * {@code send} waits (bounded) until the test opens {@code gate}, then answers {@code then}: a
   * call the test holds in flight while it does something else.
   */
  record Held(CountDownLatch gate, Answer then) implements Answer {}

  /** One call as the upstream received it. */
  static final class Call {
    private final UpstreamCall call;
    private final AtomicBoolean responseClosed = new AtomicBoolean();
    private volatile boolean responded;

    private Call(UpstreamCall call) {
      this.call = call;
    }

    /** The deployment addressed: test base URLs are {@code http://<deployment>.upstream.test}. */
    String deployment() {
      String host = call.uri().getHost();
      return host.substring(0, host.indexOf('.'));
    }

    String uri() {
      return call.uri().toString();
    }

    String body() {
      return new String(call.body(), StandardCharsets.UTF_8);
    }

    Map<String, String> headers() {
      return call.headers();
    }

    /** Whether {@code send} returned a response (not a failure). */
    boolean responded() {
      return responded;
    }

    /** Whether the response returned for this call was closed. */
    boolean responseClosed() {
      return responseClosed.get();
    }
  }

  private final Deque<Answer> script = new ArrayDeque<>();
  private final List<Call> calls = new ArrayList<>();
  private final @Nullable FakeTicker ticker;
  private final CountDownLatch blocked = new CountDownLatch(1);

  /**
   * @param ticker moved by {@link Thinks} answers; may be null when none is scripted
   */
  ScriptedUpstream(@Nullable FakeTicker ticker) {
    this.ticker = ticker;
  }

  // ---- answers, as values

  static Answer json(int status, String body) {
    return new Whole(status, Map.of("Content-Type", "application/json"), utf8(body));
  }

  static Answer whole(int status, Map<String, String> headers, String body) {
    return new Whole(status, headers, utf8(body));
  }

  static Answer sse(String... chunks) {
    return new Stream(sseHeaders(), bytes(chunks), null);
  }

  /** A stream that breaks (an {@code IOException}) after all of {@code chunks}. */
  static Answer sseBreaking(String... chunks) {
    return new Stream(sseHeaders(), bytes(chunks), new IOException("Connection reset"));
  }

  static Answer unreachable() {
    return new Unreachable();
  }

  static Answer firstByteTimeout() {
    return new Throws(new UpstreamClient.TimeoutException(false));
  }

  static Answer throwing(IOException failure) {
    return new Throws(failure);
  }

  static Answer blocksUntilCancelled() {
    return new BlocksUntilCancelled();
  }

  static Answer thinks(Duration time, Answer then) {
    return new Thinks(time, then);
  }

  static Answer byBody(java.util.function.Function<String, Answer> answer) {
    return new ByBody(answer);
  }

  static Answer held(CountDownLatch gate, Answer then) {
    return new Held(gate, then);
  }

  /** Scripts the next answers, in order. */
  ScriptedUpstream then(Answer... answers) {
    synchronized (this) {
      script.addAll(Arrays.asList(answers));
    }
    return this;
  }

  synchronized List<Call> calls() {
    return List.copyOf(calls);
  }

  /** The deployments called, in order. */
  synchronized List<String> deploymentsCalled() {
    return calls.stream().map(Call::deployment).toList();
  }

  /** How many scripted answers were not used. */
  synchronized int unused() {
    return script.size();
  }

  /** Waits (bounded) until a {@link BlocksUntilCancelled} call is blocked. */
  void awaitBlocked() throws InterruptedException {
    if (!blocked.await(BLOCK_LIMIT_SECONDS, TimeUnit.SECONDS)) {
      throw new AssertionError("no upstream call blocked");
    }
  }

  // ---- the client

  @Override
  public UpstreamResponse send(UpstreamCall call, CancelSignal cancel)
      throws IOException, InterruptedException {
    Call recorded = new Call(call);
    Answer answer;
    synchronized (this) {
      calls.add(recorded);
      answer = script.poll();
    }
    if (answer == null) {
      throw new AssertionError("unexpected upstream call to " + call.uri());
    }
    while (answer instanceof Thinks || answer instanceof ByBody || answer instanceof Held) {
      answer = unwrap(answer, recorded);
    }
    return switch (answer) {
      case Unreachable u ->
          throw new UnreachableException(
              "Connection refused", new java.net.ConnectException("Connection refused"));
      case Throws t -> throw t.failure();
      case BlocksUntilCancelled b -> throw blockUntilCancelled(cancel);
      case Whole w -> respond(recorded, cancel, w.status(), w.headers(), List.of(w.body()), null);
      case Stream s -> respond(recorded, cancel, 200, s.headers(), s.chunks(), s.breakWith());
      case Thinks t -> throw new IllegalStateException("unwrapped above");
      case ByBody b -> throw new IllegalStateException("unwrapped above");
      case Held h -> throw new IllegalStateException("unwrapped above");
    };
  }

  /** The answer a thinking, body-dependent or held answer stands for. */
  private Answer unwrap(Answer answer, Call recorded) throws InterruptedException {
    return switch (answer) {
      case Thinks(Duration time, Answer then) -> {
        if (ticker == null) {
          throw new AssertionError("a thinking upstream needs the fake ticker");
        }
        ticker.advance(time);
        yield then;
      }
      case ByBody(java.util.function.Function<String, Answer> byBody) ->
          byBody.apply(recorded.body());
      case Held(CountDownLatch gate, Answer then) -> {
        if (!gate.await(BLOCK_LIMIT_SECONDS, TimeUnit.SECONDS)) {
          throw new AssertionError("a held upstream call was never let go");
        }
        yield then;
      }
      default -> answer;
    };
  }

  private IOException blockUntilCancelled(CancelSignal cancel) throws InterruptedException {
    CountDownLatch released = new CountDownLatch(1);
    CancelSignal.Registration registration = cancel.onCancel(released::countDown);
    try {
      blocked.countDown();
      if (!released.await(BLOCK_LIMIT_SECONDS, TimeUnit.SECONDS)) {
        throw new AssertionError("the blocked upstream call was never cancelled");
      }
    } finally {
      registration.close();
    }
    return new IOException("the exchange was aborted");
  }

  private static UpstreamResponse respond(
      Call recorded,
      CancelSignal cancel,
      int status,
      Map<String, String> headers,
      List<byte[]> chunks,
      @Nullable IOException breakWith) {
    recorded.responded = true;
    AtomicBoolean aborted = new AtomicBoolean();
    CancelSignal.Registration registration = cancel.onCancel(() -> aborted.set(true));
    Map<String, String> byName = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    byName.putAll(headers);
    InputStream body = new ChunkStream(chunks, breakWith, aborted);
    return new UpstreamResponse() {
      @Override
      public int status() {
        return status;
      }

      @Override
      public Optional<String> header(String name) {
        return Optional.ofNullable(byName.get(name));
      }

      @Override
      public InputStream body() {
        return body;
      }

      @Override
      public void close() {
        recorded.responseClosed.set(true);
        registration.close();
      }
    };
  }

  /** A body delivered one chunk per read, failing once the call was aborted. */
  private static final class ChunkStream extends InputStream {
    private final List<byte[]> chunks;
    private final @Nullable IOException breakWith;
    private final AtomicBoolean aborted;
    private int chunk;
    private int offset;

    ChunkStream(List<byte[]> chunks, @Nullable IOException breakWith, AtomicBoolean aborted) {
      this.chunks = chunks;
      this.breakWith = breakWith;
      this.aborted = aborted;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int off, int len) throws IOException {
      if (aborted.get()) {
        throw new IOException("the exchange was aborted");
      }
      while (chunk < chunks.size() && offset == chunks.get(chunk).length) {
        chunk++;
        offset = 0;
      }
      if (chunk == chunks.size()) {
        if (breakWith != null) {
          throw breakWith;
        }
        return -1;
      }
      if (len == 0) {
        return 0;
      }
      byte[] current = chunks.get(chunk);
      int n = Math.min(len, current.length - offset);
      System.arraycopy(current, offset, buffer, off, n);
      offset += n;
      return n;
    }
  }

  @Override
  public void close() {}

  private static Map<String, String> sseHeaders() {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Content-Type", "text/event-stream; charset=utf-8");
    return headers;
  }

  private static List<byte[]> bytes(String... chunks) {
    return Arrays.stream(chunks).map(ScriptedUpstream::utf8).toList();
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return "ScriptedUpstream" + deploymentsCalled();
  }
}
