package dev.penstock.mock;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Writes a streamed answer as server-sent events at the latency model's pace: the first event after
 * the time to first token, then one content event per output token.
 *
 * <p>Chat and legacy completions stream {@code data: {chunk}} events ending with {@code data:
 * [DONE]}; the Responses API streams named events ({@code event: response.output_text.delta})
 * ending with {@code response.completed}, and no {@code [DONE]}. Each event is flushed on its own,
 * so a client sees it when it is due. The JSON inside each event is written in the configured
 * {@link StreamJsonStyle}; the framing around it never changes.
 */
final class StreamWriter {
  /** One SSE event; {@code token} events are paced by the per-token time. */
  record Event(@Nullable String name, String data, boolean token) {
    byte[] bytes() {
      String text = (name == null ? "" : "event: " + name + "\n") + "data: " + data + "\n\n";
      return text.getBytes(StandardCharsets.UTF_8);
    }
  }

  private final ServerResponse res;
  private final LatencyModel latency;
  private final SplittableRandom random;
  private final StreamJsonStyle style;

  StreamWriter(
      ServerResponse res, LatencyModel latency, SplittableRandom random, StreamJsonStyle style) {
    this.res = res;
    this.latency = latency;
    this.random = random;
    this.style = style;
  }

  /**
   * Streams the whole answer; with {@code malformed} one early event carries broken JSON. {@code
   * beforeLast} runs just before the last event is written.
   */
  void write(
      Endpoint endpoint, MockRequest request, Generation g, boolean malformed, Runnable beforeLast)
      throws IOException, InterruptedException {
    List<Event> events = events(endpoint, request, g, style);
    if (malformed) {
      Event victim = events.get(1);
      events.set(
          1,
          new Event(
              victim.name(),
              victim.data().substring(0, victim.data().length() / 2),
              victim.token()));
    }
    OutputStream out = open();
    int last = events.size() - 1;
    send(out, events.subList(0, last), true);
    beforeLast.run();
    send(out, events.subList(last, events.size()), last == 0);
    out.close();
  }

  /** Streams the first half of the events, then drops the connection without ending the stream. */
  void writeHalfThenDrop(Endpoint endpoint, MockRequest request, Generation g)
      throws IOException, InterruptedException {
    List<Event> events = events(endpoint, request, g, style);
    OutputStream out = open();
    send(out, events.subList(0, Math.max(1, events.size() / 2)), true);
    throw new CloseConnectionException("injected stream cut");
  }

  private OutputStream open() {
    res.status(200);
    res.header(HeaderNames.CONTENT_TYPE, MockService.sseContentType());
    res.header(HeaderNames.CACHE_CONTROL, "no-cache");
    return res.outputStream();
  }

  /** Writes {@code events}; {@code fromStart}: the first of them opens the answer (first token). */
  private void send(OutputStream out, List<Event> events, boolean fromStart)
      throws IOException, InterruptedException {
    boolean first = fromStart;
    for (Event event : events) {
      long delay =
          first
              ? latency.firstTokenNanos(random)
              : event.token() ? latency.perTokenNanos(random) : 0;
      if (delay > 0) {
        TimeUnit.NANOSECONDS.sleep(delay);
      }
      first = false;
      out.write(event.bytes());
      out.flush();
    }
  }

  static List<Event> events(
      Endpoint endpoint, MockRequest request, Generation g, StreamJsonStyle style) {
    return switch (endpoint) {
      case CHAT -> chatEvents(request, g, style);
      case COMPLETIONS -> completionEvents(request, g, style);
      case RESPONSES -> responseEvents(request, g, style);
      case EMBEDDINGS -> throw new IllegalArgumentException("embeddings do not stream");
    };
  }

  private static List<Event> chatEvents(MockRequest request, Generation g, StreamJsonStyle style) {
    boolean usage = request.includeUsage();
    List<Event> events = new ArrayList<>();
    for (int choice = 0; choice < g.n(); choice++) {
      events.add(data(Wire.chatChunk(g, choice, null, true, usage), false, style));
    }
    for (String piece : g.pieces()) {
      for (int choice = 0; choice < g.n(); choice++) {
        events.add(data(Wire.chatChunk(g, choice, piece, false, usage), choice == 0, style));
      }
    }
    for (int choice = 0; choice < g.n(); choice++) {
      events.add(data(Wire.chatFinishChunk(g, choice, usage), false, style));
    }
    if (usage) {
      events.add(data(Wire.chatUsageChunk(g), false, style));
    }
    events.add(new Event(null, "[DONE]", false));
    return events;
  }

  private static List<Event> completionEvents(
      MockRequest request, Generation g, StreamJsonStyle style) {
    boolean usage = request.includeUsage();
    List<Event> events = new ArrayList<>();
    for (String piece : g.pieces()) {
      for (int choice = 0; choice < g.n(); choice++) {
        events.add(data(Wire.completionChunk(g, choice, piece, null, usage), choice == 0, style));
      }
    }
    for (int choice = 0; choice < g.n(); choice++) {
      events.add(data(Wire.completionChunk(g, choice, "", g.finishReason(), usage), false, style));
    }
    if (usage) {
      events.add(data(Wire.completionUsageChunk(g), false, style));
    }
    events.add(new Event(null, "[DONE]", false));
    return events;
  }

  private static List<Event> responseEvents(
      MockRequest request, Generation g, StreamJsonStyle style) {
    List<Event> events = new ArrayList<>();
    int seq = 0;
    String itemId = Wire.messageId(g);
    ObjectNode created = Wire.event("response.created", seq++);
    created.set("response", Wire.response(g, request.outputCap(), false));
    events.add(named(created, false, style));
    ObjectNode progress = Wire.event("response.in_progress", seq++);
    progress.set("response", Wire.response(g, request.outputCap(), false));
    events.add(named(progress, false, style));
    ObjectNode added = Wire.event("response.output_item.added", seq++);
    added.put("output_index", 0);
    added.set("item", Wire.responseMessage(g, false));
    events.add(named(added, false, style));
    ObjectNode partAdded = partEvent("response.content_part.added", seq++, itemId);
    partAdded.set("part", Wire.outputText(""));
    events.add(named(partAdded, false, style));
    for (String piece : g.pieces()) {
      ObjectNode delta = partEvent("response.output_text.delta", seq++, itemId);
      delta.put("delta", piece);
      delta.putArray("logprobs");
      events.add(named(delta, true, style));
    }
    ObjectNode textDone = partEvent("response.output_text.done", seq++, itemId);
    textDone.put("text", g.text());
    textDone.putArray("logprobs");
    events.add(named(textDone, false, style));
    ObjectNode partDone = partEvent("response.content_part.done", seq++, itemId);
    partDone.set("part", Wire.outputText(g.text()));
    events.add(named(partDone, false, style));
    ObjectNode itemDone = Wire.event("response.output_item.done", seq++);
    itemDone.put("output_index", 0);
    itemDone.set("item", Wire.responseMessage(g, true));
    events.add(named(itemDone, false, style));
    boolean capped = g.finishReason().equals("length");
    ObjectNode completed = Wire.event(capped ? "response.incomplete" : "response.completed", seq);
    completed.set("response", Wire.response(g, request.outputCap(), true));
    events.add(named(completed, false, style));
    return events;
  }

  private static ObjectNode partEvent(String type, int seq, String itemId) {
    ObjectNode event = Wire.event(type, seq);
    event.put("item_id", itemId);
    event.put("output_index", 0);
    event.put("content_index", 0);
    return event;
  }

  private static Event data(ObjectNode chunk, boolean token, StreamJsonStyle style) {
    return new Event(null, style.write(chunk), token);
  }

  private static Event named(ObjectNode event, boolean token, StreamJsonStyle style) {
    return new Event(event.get("type").asText(), style.write(event), token);
  }
}
