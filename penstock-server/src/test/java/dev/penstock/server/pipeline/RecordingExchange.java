package dev.penstock.server.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.RequestReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A {@link ClientExchange} with no socket: it holds the request's headers and body, records the
 * answer (status, headers, body, whole or streamed), and plays a client that misbehaves on cue —
 * one that closed its connection ({@link #leave}), whose writes fail after some bytes ({@link
 * #failWritesAfter}), or whose writes block until the connection is aborted ({@link
 * #blockWritesAfter}).
 *
 * <p>Thread-safe where {@link ClientExchange} requires it: {@link #clientClosed} and {@link #abort}
 * may be called by the test (as the client watch) while the request runs on its own thread.
 */
final class RecordingExchange implements ClientExchange {
  /** How long a blocked write waits for its abort before it fails the test. */
  private static final long BLOCK_LIMIT_SECONDS = 10;

  private final Map<String, String> requestHeaders = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
  private final byte[] requestBody;

  // The answer; written by the request thread, read by the test after it ended.
  private volatile int status;
  private volatile @Nullable Map<String, String> headers;
  private volatile boolean streamed;
  private final java.util.concurrent.atomic.AtomicInteger answers =
      new java.util.concurrent.atomic.AtomicInteger();
  private final ByteArrayOutputStream written = new ByteArrayOutputStream();
  private volatile boolean outputClosed;
  private volatile boolean leftUnanswered;

  // Misbehaviour.
  private volatile boolean closed;
  private long failAfterBytes = Long.MAX_VALUE;
  private boolean failUnchecked;
  private long blockAfterBytes = Long.MAX_VALUE;
  private final CountDownLatch writeBlocked = new CountDownLatch(1);
  private final CountDownLatch aborted = new CountDownLatch(1);
  private volatile Runnable afterAbort = () -> {};

  private RecordingExchange(String body) {
    this.requestBody = body.getBytes(StandardCharsets.UTF_8);
  }

  /** A request with {@code body}, as a client sends it. */
  static RecordingExchange of(String body) {
    return new RecordingExchange(body);
  }

  /** A chat request for {@code model} with a one-word prompt. */
  static RecordingExchange chat(String model, boolean stream) {
    return of(
        "{\"model\":\""
            + model
            + "\",\"stream\":"
            + stream
            + ",\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
  }

  RecordingExchange header(String name, String value) {
    requestHeaders.put(name, value);
    return this;
  }

  // ---- misbehaviour, on cue

  /** The client closed its connection: {@link #clientClosed} says so, and writes fail. */
  void leave() {
    closed = true;
  }

  /**
   * Writes fail once {@code bytes} have been written: the client went away. A failing stream write
   * throws an {@code IOException}, or an {@code UncheckedIOException} when {@code unchecked}; a
   * whole answer's {@code send} always throws the unchecked one.
   */
  RecordingExchange failWritesAfter(long bytes, boolean unchecked) {
    failAfterBytes = bytes;
    failUnchecked = unchecked;
    return this;
  }

  /** A write that would pass {@code bytes} blocks until {@link #abort} (a client that stalled). */
  RecordingExchange blockWritesAfter(long bytes) {
    blockAfterBytes = bytes;
    return this;
  }

  /** Runs {@code action} on the aborting thread once a blocked write was released. */
  RecordingExchange afterAbort(Runnable action) {
    afterAbort = action;
    return this;
  }

  /** Waits (bounded) until a write is blocked. */
  void awaitWriteBlocked() throws InterruptedException {
    if (!writeBlocked.await(BLOCK_LIMIT_SECONDS, TimeUnit.SECONDS)) {
      throw new AssertionError("no write to the client blocked");
    }
  }

  // ---- the exchange

  @Override
  public Optional<String> header(String name) {
    return Optional.ofNullable(requestHeaders.get(name));
  }

  @Override
  public byte[] body() {
    return requestBody.clone();
  }

  @Override
  public void send(int status, Map<String, String> headers, byte[] body) {
    begin(status, headers, false);
    try {
      write(body, 0, body.length);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    outputClosed = true;
  }

  @Override
  public OutputStream stream(int status, Map<String, String> headers) throws IOException {
    begin(status, headers, true);
    if (closed || failAfterBytes == 0) {
      throw new IOException("Broken pipe");
    }
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] bytes, int offset, int length) throws IOException {
        try {
          RecordingExchange.this.write(bytes, offset, length);
        } catch (IOException e) {
          if (failUnchecked) {
            throw new UncheckedIOException(e);
          }
          throw e;
        }
      }

      @Override
      public void close() {
        outputClosed = true;
      }
    };
  }

  private void begin(int status, Map<String, String> headers, boolean streamed) {
    if (answers.incrementAndGet() > 1) {
      throw new AssertionError("answered twice: first " + this.status + ", then " + status);
    }
    this.status = status;
    this.headers = Map.copyOf(headers);
    this.streamed = streamed;
  }

  private void write(byte[] bytes, int offset, int length) throws IOException {
    if (closed) {
      throw new IOException("Broken pipe");
    }
    int size;
    synchronized (written) {
      size = written.size();
    }
    if (size + length > blockAfterBytes) {
      writeBlocked.countDown();
      awaitAbort();
      throw new IOException("Socket closed: the connection was aborted");
    }
    if (size + length > failAfterBytes) {
      int fits = (int) Math.max(0, failAfterBytes - size);
      synchronized (written) {
        written.write(bytes, offset, fits);
      }
      throw new IOException("Broken pipe");
    }
    synchronized (written) {
      written.write(bytes, offset, length);
    }
  }

  private void awaitAbort() throws IOException {
    try {
      if (!aborted.await(BLOCK_LIMIT_SECONDS, TimeUnit.SECONDS)) {
        throw new AssertionError("the blocked write was never aborted");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  @Override
  public boolean clientClosed() {
    return closed;
  }

  @Override
  public void abort() {
    closed = true;
    aborted.countDown();
    afterAbort.run();
  }

  @Override
  public void leaveUnanswered() {
    leftUnanswered = true;
  }

  // ---- what the client got

  /** Whether the pipeline gave up on answering: the connection is to be closed instead. */
  boolean leftUnanswered() {
    return leftUnanswered;
  }

  /** Whether the connection was aborted (by the client watch). */
  boolean aborted() {
    return aborted.getCount() == 0;
  }

  /** The status sent, or 0 when nothing was. */
  int status() {
    return status;
  }

  boolean answered() {
    return answers.get() > 0;
  }

  boolean streamed() {
    return streamed;
  }

  /** Whether the answer was ended (a whole answer sent, or the stream closed). */
  boolean ended() {
    return outputClosed;
  }

  /** An answer header, by exact name as the pipeline set it. */
  @Nullable String answerHeader(String name) {
    Map<String, String> h = headers;
    if (h == null) {
      throw new AssertionError("nothing was answered");
    }
    return h.get(name);
  }

  Map<String, String> answerHeaders() {
    Map<String, String> h = headers;
    if (h == null) {
      throw new AssertionError("nothing was answered");
    }
    return h;
  }

  String text() {
    synchronized (written) {
      return written.toString(StandardCharsets.UTF_8);
    }
  }

  /** The whole answer's body as JSON. */
  JsonNode json() {
    try {
      return RequestReader.JSON.readTree(text());
    } catch (IOException e) {
      throw new AssertionError("the answer is not JSON: " + text(), e);
    }
  }
}
