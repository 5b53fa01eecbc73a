package dev.penstock.server.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.SseParser;
import dev.penstock.server.openai.Usage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A stream and the whole answer it amounts to, both ways: streams the way providers send them
 * assemble into the answer a non-streamed request gets, and a whole answer replays as a stream that
 * assembles back into the same answer.
 */
class StreamFormsTest {
  private static final String CHUNK_HEAD =
      "\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"gpt-x\"";

  private static byte[] sse(String... events) {
    StringBuilder out = new StringBuilder();
    for (String e : events) {
      out.append("data: ").append(e).append("\n\n");
    }
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static JsonNode json(byte[] bytes) throws Exception {
    return RequestReader.JSON.readTree(bytes);
  }

  private static String chunk(String choices) {
    return "{" + CHUNK_HEAD + ",\"choices\":[" + choices + "]}";
  }

  @Test
  void aChatStreamWithToolCallsAssemblesIntoTheWholeAnswer() throws Exception {
    byte[] stream =
        sse(
            chunk(
                "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null},\"finish_reason\":null}"),
            chunk(
                "{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}"),
            chunk(
                "{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}}"),
            chunk(
                "{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Oslo\\\"}\"}}]}}"),
            chunk("{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}"),
            "[DONE]");
    JsonNode whole = json(StreamForms.assemble(Endpoint.CHAT, stream, new Usage(11, 7)));
    assertThat(whole.path("object").asText()).isEqualTo("chat.completion");
    assertThat(whole.path("id").asText()).isEqualTo("chatcmpl-1");
    JsonNode message = whole.path("choices").get(0).path("message");
    assertThat(message.path("content").isNull()).isTrue();
    JsonNode call = message.path("tool_calls").get(0);
    assertThat(call.path("id").asText()).isEqualTo("call_1");
    assertThat(call.path("function").path("name").asText()).isEqualTo("get_weather");
    assertThat(call.path("function").path("arguments").asText()).isEqualTo("{\"city\":\"Oslo\"}");
    assertThat(whole.path("choices").get(0).path("finish_reason").asText()).isEqualTo("tool_calls");
    // The client did not get the usage chunk; the gateway's reading of it fills in.
    assertThat(whole.path("usage").path("total_tokens").asLong()).isEqualTo(18);
  }

  @Test
  void twoChoicesInterleavedStayApart() throws Exception {
    byte[] stream =
        sse(
            chunk("{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}"),
            chunk("{\"index\":1,\"delta\":{\"role\":\"assistant\",\"content\":\"Goo\"}}"),
            chunk("{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}"),
            chunk("{\"index\":1,\"delta\":{\"content\":\"dbye\"},\"finish_reason\":\"length\"}"),
            "{"
                + CHUNK_HEAD
                + ",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}",
            "[DONE]");
    JsonNode whole = json(StreamForms.assemble(Endpoint.CHAT, stream, Usage.UNKNOWN));
    assertThat(whole.path("choices").get(0).path("message").path("content").asText())
        .isEqualTo("Hello");
    assertThat(whole.path("choices").get(1).path("message").path("content").asText())
        .isEqualTo("Goodbye");
    assertThat(whole.path("choices").get(1).path("finish_reason").asText()).isEqualTo("length");
    assertThat(whole.path("usage").path("total_tokens").asLong()).isEqualTo(7);

    // Replayed and assembled again: the same answer.
    byte[] replayed = StreamForms.replay(Endpoint.CHAT, whole, true);
    assertThat(json(StreamForms.assemble(Endpoint.CHAT, replayed, Usage.UNKNOWN))).isEqualTo(whole);
    List<JsonNode> events = events(replayed);
    assertThat(events.getLast().path("choices").isEmpty()).isTrue();
    assertThat(events.getLast().path("usage").path("total_tokens").asLong()).isEqualTo(7);
    assertThat(events.getFirst().has("usage")).isTrue(); // "usage": null, as OpenAI sends it
    assertThat(new String(replayed, StandardCharsets.UTF_8)).endsWith("data: [DONE]\n\n");

    // Without include_usage, no usage anywhere.
    List<JsonNode> plain = events(StreamForms.replay(Endpoint.CHAT, whole, false));
    assertThat(plain).noneMatch(e -> e.has("usage"));
  }

  @Test
  void aToolCallAnswerReplaysAndAssemblesBack() throws Exception {
    JsonNode whole =
        RequestReader.JSON.readTree(
            "{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":null,\"tool_calls\":[{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},{\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"{\\\"x\\\":1}\"}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}");
    byte[] replayed = StreamForms.replay(Endpoint.CHAT, whole, false);
    JsonNode back = json(StreamForms.assemble(Endpoint.CHAT, replayed, new Usage(1, 2)));
    assertThat(back.path("choices")).isEqualTo(whole.path("choices"));
  }

  @Test
  void legacyCompletionsRoundTrip() throws Exception {
    byte[] stream =
        sse(
            "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":2,\"model\":\"m\",\"choices\":[{\"text\":\"Once\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}",
            "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":2,\"model\":\"m\",\"choices\":[{\"text\":\" upon\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}]}",
            "[DONE]");
    JsonNode whole = json(StreamForms.assemble(Endpoint.COMPLETIONS, stream, new Usage(2, 2)));
    assertThat(whole.path("object").asText()).isEqualTo("text_completion");
    assertThat(whole.path("choices").get(0).path("text").asText()).isEqualTo("Once upon");
    byte[] replayed = StreamForms.replay(Endpoint.COMPLETIONS, whole, true);
    assertThat(json(StreamForms.assemble(Endpoint.COMPLETIONS, replayed, Usage.UNKNOWN)))
        .isEqualTo(whole);
  }

  @Test
  void aResponsesStreamIsItsCompletedResponseAndReplaysAsTheEventSequence() throws Exception {
    String response =
        "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"m\",\"output\":[{\"type\":\"message\",\"id\":\"msg_1\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Hi there\",\"annotations\":[]}]}],\"usage\":{\"input_tokens\":2,\"output_tokens\":2,\"total_tokens\":4}}";
    byte[] stream =
        ("event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0}\n\n"
                + "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":1,\"response\":"
                + response
                + "}\n\n")
            .getBytes(StandardCharsets.UTF_8);
    JsonNode whole = json(StreamForms.assemble(Endpoint.RESPONSES, stream, Usage.UNKNOWN));
    assertThat(whole).isEqualTo(RequestReader.JSON.readTree(response));

    byte[] replayed = StreamForms.replay(Endpoint.RESPONSES, whole, true);
    List<JsonNode> events = events(replayed);
    assertThat(events)
        .extracting(e -> e.path("type").asText())
        .containsExactly(
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed");
    assertThat(events).extracting(e -> e.path("sequence_number").asInt()).isSorted();
    assertThat(events.get(4).path("delta").asText()).isEqualTo("Hi there");
    assertThat(json(StreamForms.assemble(Endpoint.RESPONSES, replayed, Usage.UNKNOWN)))
        .isEqualTo(whole);
  }

  @Test
  void aStreamThatDidNotEndProperlyIsNoAnswer() {
    String first = chunk("{\"index\":0,\"delta\":{\"content\":\"Hel\"}}");
    assertThat(StreamForms.assemble(Endpoint.CHAT, sse(first), Usage.UNKNOWN)).isNull();
    assertThat(
            StreamForms.assemble(
                Endpoint.CHAT,
                sse(first, "{\"error\":{\"message\":\"cut\",\"type\":\"server_error\"}}", "[DONE]"),
                Usage.UNKNOWN))
        .isNull();
    assertThat(
            StreamForms.assemble(Endpoint.CHAT, sse(first, "{not json", "[DONE]"), Usage.UNKNOWN))
        .isNull();
    assertThat(StreamForms.assemble(Endpoint.CHAT, sse("[DONE]"), Usage.UNKNOWN)).isNull();
    byte[] failed =
        "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{}}\n\n"
            .getBytes(StandardCharsets.UTF_8);
    assertThat(StreamForms.assemble(Endpoint.RESPONSES, failed, Usage.UNKNOWN)).isNull();
  }

  private static List<JsonNode> events(byte[] sse) {
    List<JsonNode> events = new ArrayList<>();
    new SseParser(
            (type, data) -> {
              if (!"[DONE]".equals(data)) {
                try {
                  events.add(RequestReader.JSON.readTree(data));
                } catch (java.io.IOException e) {
                  throw new AssertionError(e);
                }
              }
            })
        .accept(sse, 0, sse.length);
    return events;
  }
}
