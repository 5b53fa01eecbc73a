package dev.penstock.server.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The body an upstream gets: the client's bytes, with {@code stream_options.include_usage} made
 * true (and the model renamed) in place, every other byte untouched.
 */
class UpstreamBodyTest {
  private static String usage(String body) {
    return text(UpstreamBody.of(bytes(body), null, true));
  }

  @Test
  void aStreamWithoutStreamOptionsGetsThemRightAfterItsOpeningBrace() {
    String body =
        "{ \"model\": \"gpt-4o\",\n  \"stream\": true, \"messages\": [{\"role\": \"user\","
            + " \"content\": \"stream_options\"}] }";

    String sent = usage(body);

    assertThat(sent).isEqualTo("{\"stream_options\":{\"include_usage\":true}," + body.substring(1));
    assertThat(json(sent).at("/stream_options/include_usage").asBoolean()).isTrue();
    assertThat(json(sent).at("/messages/0/content").asText()).isEqualTo("stream_options");
  }

  @Test
  void includeUsageFalseOrNullBecomesTrueInPlace() {
    assertThat(usage("{\"model\":\"m\",\"stream_options\": {\"include_usage\": false},\"n\":1}"))
        .isEqualTo("{\"model\":\"m\",\"stream_options\": {\"include_usage\": true},\"n\":1}");
    assertThat(usage("{\"model\":\"m\",\"stream_options\":{\"include_usage\":null}}"))
        .isEqualTo("{\"model\":\"m\",\"stream_options\":{\"include_usage\":true}}");
  }

  @Test
  void streamOptionsWithoutIncludeUsageGainIt() {
    assertThat(usage("{\"model\":\"m\",\"stream_options\":{}}"))
        .isEqualTo("{\"model\":\"m\",\"stream_options\":{\"include_usage\":true}}");
    assertThat(usage("{\"model\":\"m\",\"stream_options\": { \"include_obfuscation\": false }}"))
        .isEqualTo(
            "{\"model\":\"m\",\"stream_options\": {\"include_usage\":true,"
                + " \"include_obfuscation\": false }}");
    assertThat(usage("{\"stream_options\":null,\"model\":\"m\"}"))
        .isEqualTo("{\"stream_options\":{\"include_usage\":true},\"model\":\"m\"}");
  }

  @Test
  void aBodyThatAlreadyAsksIsTheSameArray() {
    byte[] body = bytes("{\"model\":\"m\",\"stream_options\":{\"include_usage\":true}}");
    assertThat(UpstreamBody.of(body, null, true)).isSameAs(body);
    assertThat(UpstreamBody.of(body, null, false)).isSameAs(body);
  }

  @Test
  void theModelAndTheUsageAreEditedInOnePass() {
    String body =
        "{\"stream_options\":{\"include_usage\":false},\"model\":\"gpt-5\",\"stream\":true,"
            + "\"metadata\":{\"model\":\"not this one\"}}";

    assertThat(text(UpstreamBody.of(bytes(body), "gpt-5-2025-08-07", true)))
        .isEqualTo(
            "{\"stream_options\":{\"include_usage\":true},\"model\":\"gpt-5-2025-08-07\","
                + "\"stream\":true,\"metadata\":{\"model\":\"not this one\"}}");
    assertThat(text(UpstreamBody.of(bytes(body), "gpt-5-2025-08-07", false)))
        .isEqualTo(body.replace("\"gpt-5\"", "\"gpt-5-2025-08-07\""));
  }

  @Test
  void editsAfterMultiByteCharactersAndEscapesLandOnTheirBytes() {
    String body =
        "{\"messages\":[{\"content\":\"h\u00e9llo \\\"\ud83d\ude00\\\"\"}],\"model\":\"m\","
            + "\"stream_options\":{}}";

    assertThat(text(UpstreamBody.of(bytes(body), "\u00e9", true)))
        .isEqualTo(
            body.replace("\"model\":\"m\"", "\"model\":\"\u00e9\"")
                .replace("{}", "{\"include_usage\":true}"));
  }

  @Test
  void aBodyTheReaderWouldHaveRefusedIsABug() {
    assertThatThrownBy(() -> usage("{\"model\":\"m\",\"stream_options\":\"yes\"}"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> usage("{\"model\":\"m\",\"stream_options\":{\"include_usage\":1}}"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> UpstreamBody.of(bytes("{\"n\":1}"), "m", false))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static JsonNode json(String text) {
    try {
      return RequestReader.JSON.readTree(text);
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }
}
