package dev.penstock.server.pipeline;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A client that is not a connection: the request Penstock submits itself (a batch line, a queued
 * message), whose answer — sent whole or streamed — is kept in memory for its submitter to read
 * after {@link Pipeline#handle(dev.penstock.server.openai.Endpoint, ClientExchange, String,
 * InternalCaller)} returns. It never leaves; a streamed answer is kept as its SSE bytes.
 *
 * <p>Used by one request's thread, then read by the same thread.
 */
public final class BufferedExchange implements ClientExchange {
  private final Map<String, String> requestHeaders;
  private final byte[] body;
  private int status;
  private Map<String, String> answerHeaders = Map.of();
  private final ByteArrayOutputStream answer = new ByteArrayOutputStream(512);
  private boolean streamed;

  /**
   * A request with this body and these headers (names are matched ignoring case; pass none that
   * authenticate: the caller is an {@link InternalCaller}).
   */
  public BufferedExchange(byte[] body, Map<String, String> headers) {
    this.body = body.clone();
    Map<String, String> lower = new LinkedHashMap<>();
    headers.forEach((k, v) -> lower.put(k.toLowerCase(Locale.ROOT), v));
    this.requestHeaders = Map.copyOf(lower);
  }

  /** A request with this body and no headers. */
  public BufferedExchange(byte[] body) {
    this(body, Map.of());
  }

  @Override
  public Optional<String> header(String name) {
    return Optional.ofNullable(requestHeaders.get(name.toLowerCase(Locale.ROOT)));
  }

  @Override
  public byte[] body() {
    return body;
  }

  @Override
  public void send(int status, Map<String, String> headers, byte[] body) {
    this.status = status;
    this.answerHeaders = Map.copyOf(headers);
    answer.writeBytes(body);
  }

  @Override
  public OutputStream stream(int status, Map<String, String> headers) {
    this.status = status;
    this.answerHeaders = Map.copyOf(headers);
    this.streamed = true;
    return answer;
  }

  /** Whether an answer was given; false when the request ended without one. */
  public boolean answered() {
    return status != 0;
  }

  /** The answer's status, 0 when none was given. */
  public int status() {
    return status;
  }

  /** The answer's headers (as sent, names as the gateway wrote them). */
  public Map<String, String> headers() {
    return answerHeaders;
  }

  /** An answer header, matched ignoring case. */
  public @Nullable String answerHeader(String name) {
    for (Map.Entry<String, String> e : answerHeaders.entrySet()) {
      if (e.getKey().equalsIgnoreCase(name)) {
        return e.getValue();
      }
    }
    return null;
  }

  /** Whether the answer was streamed (then {@link #body} holds its SSE bytes). */
  public boolean streamed() {
    return streamed;
  }

  /** The answer's bytes. */
  public byte[] answerBody() {
    return answer.toByteArray();
  }

  /** The answer as UTF-8 text. */
  public String answerText() {
    return answer.toString(StandardCharsets.UTF_8);
  }
}
