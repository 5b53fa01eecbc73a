package dev.penstock.mock;

import static dev.penstock.mock.MockHttp.apiKey;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The spaced style writes the same events as OpenAI's compact one — same values, same usage — with
 * a space after every {@code :} and {@code ,} and every object's fields in reverse order.
 */
class StreamJsonStyleTest {
  private static final MockConfig CONFIG =
      MockConfig.builder().addKey(KeySpec.of("a", "sk-style-0001", 1, 1)).build();
  private static final TokenCounter TOKENS = new TokenCounter();

  private static final String CHAT =
      "{\"model\":\"m\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
          + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
  private static final String COMPLETION =
      "{\"model\":\"m\",\"prompt\":\"Say\",\"stream\":true,"
          + "\"stream_options\":{\"include_usage\":true}}";
  private static final String RESPONSES = "{\"model\":\"m\",\"input\":\"Hi\",\"stream\":true}";

  private static List<StreamWriter.Event> events(
      Endpoint endpoint, String body, StreamJsonStyle style) throws Exception {
    MockRequest request =
        MockRequest.parse(endpoint, MockHttp.JSON.readTree(body), null, CONFIG, TOKENS);
    // Responses ids must start with "resp_": message ids are derived from them.
    String id = endpoint == Endpoint.RESPONSES ? "resp_abc" : "chatcmpl-abc";
    Generation g = Generation.of(id, 1_700_000_000L, request, 4);
    return StreamWriter.events(endpoint, request, g, style);
  }

  @Test
  void spacedEventsCarryTheSameValuesAsCompactOnes() throws Exception {
    record Case(Endpoint endpoint, String body) {}
    for (Case c :
        List.of(
            new Case(Endpoint.CHAT, CHAT),
            new Case(Endpoint.COMPLETIONS, COMPLETION),
            new Case(Endpoint.RESPONSES, RESPONSES))) {
      List<StreamWriter.Event> compact = events(c.endpoint(), c.body(), StreamJsonStyle.COMPACT);
      List<StreamWriter.Event> spaced = events(c.endpoint(), c.body(), StreamJsonStyle.SPACED);
      assertThat(spaced).hasSameSizeAs(compact);
      for (int i = 0; i < compact.size(); i++) {
        StreamWriter.Event a = compact.get(i);
        StreamWriter.Event b = spaced.get(i);
        assertThat(b.name()).isEqualTo(a.name());
        assertThat(b.token()).isEqualTo(a.token());
        if (a.data().equals("[DONE]")) {
          assertThat(b.data()).isEqualTo("[DONE]");
          continue;
        }
        // ObjectNode equality ignores field order: the values are the same, the text is not.
        assertThat(MockHttp.JSON.readTree(b.data())).isEqualTo(MockHttp.JSON.readTree(a.data()));
        assertThat(b.data()).isNotEqualTo(a.data());
        assertSpaced(b.data());
        assertNoSpacing(a.data());
      }
    }
  }

  @Test
  void usageComesBeforeChoicesWithItsOwnFieldsReversed() throws Exception {
    List<StreamWriter.Event> spaced = events(Endpoint.CHAT, CHAT, StreamJsonStyle.SPACED);
    String usageChunk = spaced.get(spaced.size() - 2).data();
    assertThat(fieldNames(MockHttp.JSON.readTree(usageChunk)))
        .startsWith("usage", "choices")
        .endsWith("object", "id");
    JsonNode usage = MockHttp.JSON.readTree(usageChunk).get("usage");
    assertThat(fieldNames(usage))
        .containsExactly(
            "completion_tokens_details",
            "prompt_tokens_details",
            "total_tokens",
            "completion_tokens",
            "prompt_tokens");
    assertThat(usage.get("completion_tokens").asInt()).isEqualTo(8); // 4 tokens, n = 2
    assertThat(usageChunk).startsWith("{\"usage\": {\"completion_tokens_details\": {");
  }

  @Test
  void aResponsesEventNamesItsTypeLast() throws Exception {
    List<StreamWriter.Event> spaced = events(Endpoint.RESPONSES, RESPONSES, StreamJsonStyle.SPACED);
    for (StreamWriter.Event event : spaced) {
      List<String> names = fieldNames(MockHttp.JSON.readTree(event.data()));
      assertThat(names.getLast()).isEqualTo("type");
      assertThat(names.getFirst()).isNotEqualTo("type");
      assertThat(MockHttp.JSON.readTree(event.data()).get("type").asText()).isEqualTo(event.name());
    }
    JsonNode completed = MockHttp.JSON.readTree(spaced.getLast().data());
    assertThat(completed.at("/response/usage/output_tokens").asInt()).isEqualTo(4);
    assertThat(fieldNames(completed.at("/response/usage")).getFirst()).isEqualTo("total_tokens");
  }

  @Test
  void stringsAreWrittenUntouchedWhateverTheyHoldInside() throws Exception {
    String tricky =
        "{\"text\":\"a, b: c \\\"quoted\\\" {x} [y] \\u00e9\\n\",\"n\":[1,2.5,null,true]}";
    JsonNode node = MockHttp.JSON.readTree(tricky);
    String spaced = StreamJsonStyle.SPACED.write(node);
    assertThat(spaced)
        .isEqualTo(
            "{\"n\": [1, 2.5, null, true], \"text\": \"a, b: c \\\"quoted\\\" {x} [y] é\\n\"}");
    assertThat(MockHttp.JSON.readTree(spaced)).isEqualTo(node);
    assertSpaced(spaced);
  }

  @Test
  void aSpacedSimulatorStreamsParseableEventsOnEveryPath() throws Exception {
    try (MockServer server =
            MockServer.start(
                MockConfig.builder()
                    .port(0)
                    .latency(LatencyModel.ZERO)
                    .outputTokens(3)
                    .streamJsonStyle(StreamJsonStyle.SPACED)
                    .addKey(KeySpec.of("k", "sk-style-0002", 1000, 1_000_000))
                    .build());
        MockHttp http = new MockHttp(server)) {
      for (String path :
          List.of(
              "/v1/chat/completions",
              "/openai/deployments/m/chat/completions?api-version=2024-10-21",
              "/openai/v1/chat/completions")) {
        List<String> data = data(http.streamLines(path, apiKey("sk-style-0002"), CHAT));
        assertThat(data.getLast()).as(path).isEqualTo("[DONE]");
        JsonNode usage = MockHttp.JSON.readTree(data.get(data.size() - 2));
        assertThat(usage.at("/usage/completion_tokens").asInt()).as(path).isEqualTo(6);
        data.subList(0, data.size() - 1).forEach(StreamJsonStyleTest::assertSpaced);
      }
      for (String path :
          List.of(
              "/v1/responses",
              "/openai/responses?api-version=2025-04-01-preview",
              "/openai/v1/responses")) {
        List<String> data = data(http.streamLines(path, apiKey("sk-style-0002"), RESPONSES));
        JsonNode last = MockHttp.JSON.readTree(data.getLast());
        assertThat(last.get("type").asText()).as(path).isEqualTo("response.completed");
        assertThat(last.at("/response/usage/output_tokens").asInt()).as(path).isEqualTo(3);
        data.forEach(StreamJsonStyleTest::assertSpaced);
      }
      assertThat(MockHttp.json(http.get("/__config", "")).get("stream_json_style").asText())
          .isEqualTo("spaced");
    }
  }

  @Test
  void wireNamesAreCompactAndSpaced() {
    assertThat(StreamJsonStyle.fromWireName("spaced")).isEqualTo(StreamJsonStyle.SPACED);
    assertThat(StreamJsonStyle.COMPACT.wireName()).isEqualTo("compact");
    assertThat(CONFIG.streamJsonStyle())
        .as("OpenAI's style by default")
        .isEqualTo(StreamJsonStyle.COMPACT);
    assertThatThrownBy(() -> StreamJsonStyle.fromWireName("pretty"))
        .hasMessageContaining("compact, spaced");
  }

  private static List<String> data(List<String> lines) {
    return lines.stream().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  /** Every {@code :} and {@code ,} outside a string is followed by exactly one space. */
  private static void assertSpaced(String json) {
    assertThat(separatorsFollowedBy(json)).as(json).isNotEmpty().containsOnly(' ');
  }

  private static void assertNoSpacing(String json) {
    assertThat(separatorsFollowedBy(json)).as(json).doesNotContain(' ');
  }

  /** The character after each {@code :} and {@code ,} that is not inside a string. */
  private static List<Character> separatorsFollowedBy(String json) {
    List<Character> after = new ArrayList<>();
    boolean inString = false;
    for (int i = 0; i < json.length() - 1; i++) {
      char c = json.charAt(i);
      if (inString) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          inString = false;
        }
      } else if (c == '"') {
        inString = true;
      } else if (c == ':' || c == ',') {
        after.add(json.charAt(i + 1));
        if (json.charAt(i + 1) == ' ') {
          assertThat(json.charAt(i + 2)).as(json).isNotEqualTo(' ');
        }
      }
    }
    return after;
  }
}
