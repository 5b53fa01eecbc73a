package dev.penstock.cli.bench;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * Reads a 2xx body to its end and says what it held: token usage and, for streams, the time of the
 * first token and whether the stream ended properly. Thread-safe; holds no per-request state.
 */
final class ReplyReader {
  /*
   * Streams
   * -------
   * Success means the stream reached its proper end: "data: [DONE]" for chat and completions, the
   * "response.completed" or "response.incomplete" event for the Responses API (which sends no
   * [DONE]; "incomplete" is how it reports reaching max_output_tokens). A stream that ends before
   * that, or that carries an error event ({"error": ...}, or type "error"/"response.failed"), is
   * a stream_error, even after [DONE]: that is how the OpenAI SDKs treat it, and how Penstock reports
   * a stream cut after its first byte (docs/resilience.md).
   *
   * Time to first token is the arrival of the first event that carries output text (a non-empty
   * delta.content, choices[0].text, or a response.output_text.delta event), not of the first
   * event: OpenAI's first chat chunk carries only the role, and a gateway or proxy may send
   * headers and keep-alives early, which is not what a user waits for.
   *
   * Cost
   * ----
   * Every event is parsed until the first token; after that only events that can matter (they
   * contain "usage", "error" or a final Responses event type) are. Inside a JSON string those
   * words appear with escaped quotes, so the substring test has false positives at worst, which
   * the parse then dismisses. Non-stream bodies go through Jackson's streaming parser, which skips
   * what it does not need (an embeddings answer is mostly vectors) without building a tree.
   */
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Endpoint endpoint;
  private final boolean stream;
  private final BenchClock clock;

  ReplyReader(Endpoint endpoint, boolean stream, BenchClock clock) {
    this.endpoint = endpoint;
    this.stream = stream;
    this.clock = clock;
  }

  /** Reads and closes the body of a 2xx answer. */
  Completion read(Transport.HttpReply reply) {
    return stream ? readStream(reply) : readJson(reply);
  }

  private Completion readJson(Transport.HttpReply reply) {
    Usage usage = Usage.NONE;
    try (InputStream in = reply.body();
        JsonParser parser = JSON.createParser(in)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return Completion.failed(Outcome.BAD_BODY, clock.nanoTime());
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        parser.nextToken();
        if (field.equals("usage") && parser.currentToken() == JsonToken.START_OBJECT) {
          usage = Usage.of(parser.readValueAsTree());
        } else {
          parser.skipChildren();
        }
      }
      if (parser.currentToken() != JsonToken.END_OBJECT || parser.nextToken() != null) {
        return Completion.failed(Outcome.BAD_BODY, clock.nanoTime());
      }
    } catch (IOException e) { // includes JsonProcessingException: malformed or cut short
      return Completion.failed(Outcome.BAD_BODY, clock.nanoTime());
    }
    return done(Outcome.OK, Completion.NONE, usage, reply);
  }

  private Completion readStream(Transport.HttpReply reply) {
    StreamState state = new StreamState();
    try (var lines =
        new BufferedReader(new InputStreamReader(reply.body(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null) {
        if (line.startsWith("data:")) {
          onData(line.substring(5).strip(), state);
        }
      }
    } catch (IOException e) { // includes a malformed event: the SDKs would raise on it too
      return done(Outcome.STREAM_ERROR, state.firstTokenNanos, Usage.NONE, reply);
    }
    Outcome outcome = state.finished && !state.failed ? Outcome.OK : Outcome.STREAM_ERROR;
    return done(outcome, state.firstTokenNanos, state.usage, reply);
  }

  private void onData(String data, StreamState state) throws JsonProcessingException {
    if (data.equals("[DONE]")) {
      state.finished = true;
      return;
    }
    if (state.firstTokenNanos != Completion.NONE && !mayMatter(data)) {
      return;
    }
    JsonNode event = JSON.readTree(data);
    if (state.firstTokenNanos == Completion.NONE && carriesText(event)) {
      state.firstTokenNanos = clock.nanoTime();
    }
    String type = event.path("type").asText("");
    if (event.hasNonNull("error") || type.equals("error") || type.equals("response.failed")) {
      state.failed = true;
    }
    if (type.equals("response.completed") || type.equals("response.incomplete")) {
      state.finished = true;
    }
    // The Responses API reports usage inside the response object of its final event.
    JsonNode usage =
        endpoint == Endpoint.RESPONSES ? event.path("response").path("usage") : event.path("usage");
    if (usage.isObject()) {
      state.usage = Usage.of(usage);
    }
  }

  private static boolean mayMatter(String data) {
    return data.contains("\"usage\"")
        || data.contains("\"error\"")
        || data.contains("\"response.completed\"")
        || data.contains("\"response.incomplete\"")
        || data.contains("\"response.failed\"");
  }

  private boolean carriesText(JsonNode event) {
    return switch (endpoint) {
      case CHAT ->
          !event.path("choices").path(0).path("delta").path("content").asText("").isEmpty();
      case COMPLETIONS -> !event.path("choices").path(0).path("text").asText("").isEmpty();
      case RESPONSES -> event.path("type").asText("").equals("response.output_text.delta");
      case EMBEDDINGS -> false;
    };
  }

  private Completion done(
      Outcome outcome, long firstTokenNanos, Usage usage, Transport.HttpReply reply) {
    return new Completion(
        outcome,
        clock.nanoTime(),
        firstTokenNanos,
        usage.inputTokens(),
        usage.outputTokens(),
        reply.queueMicros(),
        reply.deployment());
  }

  /** What a stream has shown so far; confined to the reading thread. */
  private static final class StreamState {
    long firstTokenNanos = Completion.NONE;
    boolean finished;
    boolean failed;
    Usage usage = Usage.NONE;
  }

  /** Token counts from a {@code usage} object, in either of OpenAI's two spellings. */
  private record Usage(long inputTokens, long outputTokens) {
    static final Usage NONE = new Usage(0, 0);

    static Usage of(JsonNode usage) {
      // Chat, completions and embeddings say prompt/completion; the Responses API input/output.
      long input = usage.path("prompt_tokens").asLong(usage.path("input_tokens").asLong(0));
      long output = usage.path("completion_tokens").asLong(usage.path("output_tokens").asLong(0));
      return new Usage(input, output);
    }
  }
}
