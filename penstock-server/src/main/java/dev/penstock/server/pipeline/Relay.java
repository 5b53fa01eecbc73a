package dev.penstock.server.pipeline;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.penstock.core.limit.RateLimitObservation;
import dev.penstock.core.limit.Settlement;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.SseRelay;
import dev.penstock.server.openai.Usage;
import dev.penstock.server.telemetry.Outcome;
import dev.penstock.server.telemetry.RetryReason;
import dev.penstock.server.upstream.UpstreamClient;
import dev.penstock.server.upstream.UpstreamResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import org.jspecify.annotations.Nullable;

/**
 * Relays an upstream's answer to the client and says how that went, as an {@link AttemptOutcome}.
 * It never settles anything itself.
 *
 * <p>A whole answer is read, checked to be JSON (an SDK could not parse anything else), then sent.
 * A stream's status and headers go to the client only with its first chunk, so that a stream
 * failing before any data is retried like any other failed attempt; once the client has a byte, a
 * failure ends the stream with an SSE error event the SDKs raise. A client that leaves — a write
 * fails, or the client watcher cancelled the call and so aborted the upstream read — ends the relay
 * at once.
 */
final class Relay {
  /**
   * A stream's read buffer, held for the stream's whole life: an LLM's events are a few hundred
   * bytes each and arrive one at a time, and the upstream connection buffers its own reads, so a
   * smaller buffer costs no system call and saves 4 KB for each stream in flight.
   */
  private static final int STREAM_BUFFER = 4096;

  /** Whether an attempt that timed out after reaching its upstream may be retried. */
  private final boolean retryTimeouts;

  /** The largest whole answer read into memory; a larger one is a failed attempt. */
  private final long maxAnswerBytes;

  private final ErrorRedaction redaction;

  Relay(boolean retryTimeouts, long maxAnswerBytes, ErrorRedaction redaction) {
    this.retryTimeouts = retryTimeouts;
    this.maxAnswerBytes = maxAnswerBytes;
    this.redaction = redaction;
  }

  /** Relays a {@code 2xx} answer that is not a stream. */
  AttemptOutcome whole(
      ProxyCall call, UpstreamResponse response, String deployment, RateLimitObservation observed) {
    byte[] body;
    try {
      body = readAll(response, maxAnswerBytes);
    } catch (AnswerTooLarge e) {
      // A 200 MB answer was once read whole on each of three attempts, and a 3 GB one ran the
      // gateway out of memory. It is not retried: the next attempt would likely be as large.
      return new AttemptOutcome.Failed(
          RetryReason.MALFORMED,
          Settlement.COUNTED,
          Failure.of(
              upstreamError(
                  502,
                  "upstream_answer_too_large",
                  "The upstream of deployment "
                      + deployment
                      + " answered with more than "
                      + maxAnswerBytes
                      + " bytes (defaults.max_answer_bytes).")),
          false);
    } catch (IOException e) {
      return readFailed(call, deployment, e);
    }
    JsonNode usageNode = usageOf(body);
    if (usageNode == null) {
      return new AttemptOutcome.Failed(
          RetryReason.MALFORMED,
          Settlement.COUNTED,
          Failure.of(
              upstreamError(
                  502,
                  "upstream_malformed",
                  "The upstream of deployment " + deployment + " answered with malformed JSON.")),
          true);
    }
    Usage usage = Usage.of(usageNode);
    try {
      call.exchange().send(response.status(), call.answerHeaders(), body);
    } catch (UncheckedIOException clientGone) {
      return new AttemptOutcome.ClientLeft(Settlement.COMPLETED, usage);
    }
    return new AttemptOutcome.Answered(Settlement.COMPLETED, usage, observed);
  }

  /** Passes an upstream error ({@code 4xx}, or a {@code 5xx} that is not retried) through. */
  AttemptOutcome passThrough(
      ProxyCall call, int status, byte[] body, boolean clientError, RateLimitObservation observed) {
    Failure passed = new Failure(status, body);
    call.record()
        .failed(
            clientError ? Outcome.CLIENT_ERROR : Outcome.UPSTREAM_ERROR,
            passed.code(),
            passed.message());
    try {
      call.exchange().send(status, call.answerHeaders(), body);
    } catch (UncheckedIOException clientGone) {
      return new AttemptOutcome.ClientLeft(Settlement.COUNTED, Usage.UNKNOWN);
    }
    return new AttemptOutcome.Answered(Settlement.COUNTED, Usage.UNKNOWN, observed);
  }

  /**
   * Relays a {@code 2xx} SSE stream chunk by chunk, watching it for usage and its proper end. For a
   * client that did not ask for the stream's usage (which the upstream was asked for on its behalf)
   * the chunks are whole events, the usage chunk taken out ({@link SseRelay#withholdingUsage()}).
   */
  AttemptOutcome stream(
      ProxyCall call, UpstreamResponse response, String deployment, RateLimitObservation observed) {
    SseRelay sse =
        call.request().clientWantsUsage() ? SseRelay.watching() : SseRelay.withholdingUsage();
    byte[] buffer = new byte[STREAM_BUFFER];
    InputStream in = response.body();
    int n;
    try {
      n = in.read(buffer);
    } catch (IOException e) {
      return readFailed(call, deployment, e);
    }
    if (n < 0) {
      return new AttemptOutcome.Failed(
          RetryReason.STREAM_INCOMPLETE,
          Settlement.COUNTED,
          Failure.of(
              upstreamError(
                  502,
                  "stream_incomplete",
                  "The upstream stream of deployment "
                      + deployment
                      + " ended before its first event.")),
          true);
    }
    OutputStream out;
    try {
      out = call.exchange().stream(response.status(), call.answerHeaders());
    } catch (IOException | UncheckedIOException clientGone) {
      return new AttemptOutcome.ClientLeft(Settlement.COUNTED, Usage.UNKNOWN);
    }
    while (n >= 0) {
      int errorsBefore = sse.errorEvents();
      sse.accept(buffer, 0, n);
      byte[] chunk = sse.withholding() ? sse.release() : buffer;
      int length = sse.withholding() ? chunk.length : n;
      try {
        if (sse.errorEvents() > errorsBefore) {
          // An error event in the stream (this chunk ends it): it may echo a key.
          out.write(redaction.body(java.util.Arrays.copyOf(chunk, length)));
          out.flush();
        } else if (length > 0) {
          out.write(chunk, 0, length);
          out.flush();
        }
      } catch (IOException | UncheckedIOException clientGone) {
        return new AttemptOutcome.ClientLeft(Settlement.COUNTED, sse.usage());
      }
      try {
        n = in.read(buffer);
      } catch (IOException e) {
        if (call.shutDown()) {
          endWith(out, ErrorResponses.shuttingDown());
          return new AttemptOutcome.ShutDown(true, Settlement.COUNTED, sse.usage());
        }
        if (call.cancel().cancelled()) {
          return new AttemptOutcome.ClientLeft(Settlement.COUNTED, sse.usage());
        }
        return broken(
            call,
            out,
            sse,
            "The upstream stream of deployment "
                + deployment
                + (e instanceof UpstreamClient.TimeoutException
                    ? " stalled past its read timeout."
                    : " broke off."));
      }
    }
    if (sse.withholding()) {
      // An unfinished last block, as the upstream sent it (a watching relay forwarded it already).
      byte[] rest = sse.rest();
      try {
        if (rest.length > 0) {
          out.write(rest);
          out.flush();
        }
      } catch (IOException | UncheckedIOException clientGone) {
        return new AttemptOutcome.ClientLeft(Settlement.COUNTED, sse.usage());
      }
    }
    if (!sse.finished()) {
      if (sse.sawErrorEvent()) {
        // The upstream ended its stream with its own error event, which the client has: the
        // attempt failed (for the circuit too), and there is nothing to add.
        call.record()
            .failed(
                Outcome.UPSTREAM_ERROR,
                "upstream_stream_error",
                "The upstream stream of deployment " + deployment + " ended with an error event.");
        closeQuietly(out);
        return new AttemptOutcome.Broke(sse.usage());
      }
      return broken(
          call,
          out,
          sse,
          "The upstream stream of deployment " + deployment + " ended before it was complete.");
    }
    Usage usage = sse.usage();
    if (usage.known()) {
      // Recorded before the stream is closed: what closing it triggers (the response cache storing
      // the answer) reads it. The upstream stage records the same usage again when it settles.
      call.record().usage(usage.promptTokens(), usage.completionTokens(), usage.cachedTokens());
    }
    closeQuietly(out);
    return new AttemptOutcome.Answered(Settlement.COMPLETED, usage, observed);
  }

  /** A stream that began cannot become an HTTP error: it ends with an SSE error event. */
  private static AttemptOutcome broken(
      ProxyCall call, OutputStream out, SseRelay sse, String message) {
    call.record().failed(Outcome.UPSTREAM_ERROR, "stream_incomplete", message);
    endWith(out, new ApiError(502, "upstream_error", message, null, "stream_incomplete", -1));
    return new AttemptOutcome.Broke(sse.usage());
  }

  /** Ends a stream that began with {@code error} as its last event, in the SDKs' shape. */
  private static void endWith(OutputStream out, ApiError error) {
    try {
      out.write(ErrorResponses.sseEvent(error));
      out.flush();
    } catch (IOException | UncheckedIOException clientGone) {
      // the client left too; the stream is over either way
    }
    closeQuietly(out);
  }

  /** Reading the answer failed: the client left (the call was aborted), a timeout, or a break. */
  AttemptOutcome readFailed(ProxyCall call, String deployment, IOException e) {
    if (call.shutDown()) {
      return new AttemptOutcome.ShutDown(false, Settlement.COUNTED, Usage.UNKNOWN);
    }
    if (call.cancel().cancelled()) {
      return new AttemptOutcome.ClientLeft(Settlement.COUNTED, Usage.UNKNOWN);
    }
    if (e instanceof UpstreamClient.TimeoutException timeout) {
      return new AttemptOutcome.Failed(
          RetryReason.TIMEOUT,
          Settlement.COUNTED,
          Failure.of(timedOut(deployment, timeout)),
          retryTimeouts);
    }
    return new AttemptOutcome.Failed(
        RetryReason.BROKEN, Settlement.COUNTED, Failure.of(broke(deployment, e)), true);
  }

  static ApiError timedOut(String deployment, UpstreamClient.TimeoutException timeout) {
    return upstreamError(
        504,
        "upstream_timeout",
        "The upstream of deployment "
            + deployment
            + (timeout.bodyStarted()
                ? " fell silent past its read timeout."
                : " sent no answer within its first-byte timeout."));
  }

  static ApiError broke(String deployment, IOException e) {
    return upstreamError(
        502,
        "upstream_error",
        "The upstream of deployment "
            + deployment
            + " failed: "
            + e.getClass().getSimpleName()
            + ".");
  }

  static ApiError upstreamError(int status, String code, String message) {
    return new ApiError(status, "upstream_error", message, null, code, -1);
  }

  /**
   * The top-level {@code usage} of an answer (a missing node when it has none), or null when the
   * answer is not one JSON value (a truncated or garbled answer). The answer is relayed as its own
   * bytes, so it is only scanned: building it whole as a tree was a tenth of the bytes a request
   * allocated.
   */
  static @Nullable JsonNode usageOf(byte[] body) {
    try (JsonParser parser = RequestReader.JSON.createParser(body)) {
      // Duplicate keys are the upstream's affair (the answer is relayed as it came); detecting
      // them cost a HashSet per object.
      parser.disable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
      JsonToken first = parser.nextToken();
      if (first == null) {
        return null;
      }
      JsonNode usage = MissingNode.getInstance();
      if (first == JsonToken.START_OBJECT) {
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          boolean isUsage = "usage".equals(parser.currentName());
          parser.nextToken();
          if (isUsage) {
            JsonNode tree = parser.readValueAsTree();
            usage = tree != null ? tree : MissingNode.getInstance();
          } else {
            parser.skipChildren();
          }
        }
      } else {
        parser.skipChildren();
      }
      return usage;
    } catch (IOException e) {
      return null;
    }
  }

  /** A whole answer over the limit. */
  private static final class AnswerTooLarge extends IOException {
    private static final long serialVersionUID = 1L;

    AnswerTooLarge() {
      super("upstream answer over the limit", null);
    }
  }

  /**
   * Reads a whole answer of at most {@code limit} bytes, exactly sized when the upstream declared
   * its length; a larger one (declared or not) is refused before or as soon as it passes the limit.
   */
  private static byte[] readAll(UpstreamResponse response, long limit) throws IOException {
    InputStream in = response.body();
    long declared = response.header("Content-Length").map(Relay::parseLength).orElse(-1L);
    if (declared > limit) {
      throw new AnswerTooLarge();
    }
    if (declared >= 0) {
      byte[] body = in.readNBytes((int) declared);
      if (body.length < declared) {
        throw new IOException("upstream answer shorter than its Content-Length");
      }
      in.read(); // see the end: the client returns the connection to its pool only then
      return body;
    }
    byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
    if (body.length > limit) {
      throw new AnswerTooLarge();
    }
    return body;
  }

  private static long parseLength(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static void closeQuietly(OutputStream out) {
    try {
      out.close();
    } catch (IOException | UncheckedIOException e) {
      // the client left; nothing more to tell it
    }
  }
}
