package dev.penstock.server.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import org.junit.jupiter.api.Test;

class CacheKeysTest {
  private static JsonNode json(String text) throws Exception {
    return RequestReader.JSON.readTree(text);
  }

  private static String key(String namespace, String body) throws Exception {
    return CacheKeys.exact(namespace, "m", Endpoint.CHAT, json(body));
  }

  @Test
  void keyOrderNumberSpellingAndDeliveryFieldsDoNotChangeTheKey() throws Exception {
    String base =
        key(
            "ns",
            "{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assertThat(
            key(
                "ns",
                "{\"messages\":[{\"content\":\"hi\",\"role\":\"user\"}],\"temperature\":0.0,\"model\":\"m\"}"))
        .isEqualTo(base);
    assertThat(
            key(
                "ns",
                "{\"model\":\"m\",\"temperature\":0e0,\"stream\":true,\"stream_options\":{\"include_usage\":true},\"user\":\"u\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .isEqualTo(base);
  }

  @Test
  void contentNamespaceModelAndEndpointDo() throws Exception {
    String body =
        "{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    String base = key("ns", body);
    assertThat(key("other", body)).isNotEqualTo(base);
    assertThat(key("ns", body.replace("hi", "Hi"))).isNotEqualTo(base);
    assertThat(key("ns", body.replace("\"temperature\":0", "\"temperature\":0.5")))
        .isNotEqualTo(base);
    assertThat(CacheKeys.exact("ns", "m2", Endpoint.CHAT, json(body))).isNotEqualTo(base);
    assertThat(CacheKeys.exact("ns", "m", Endpoint.RESPONSES, json(body))).isNotEqualTo(base);
    // Nested fields keep their meaning: a nested "user" is content, not the end-user id.
    assertThat(key("ns", body.replace("\"role\":\"user\"", "\"role\":\"user\",\"user\":\"x\"")))
        .isNotEqualTo(base);
    // The separator cannot be forged: ("a", "b\0c") and ("a\0b", "c") differ.
    assertThat(CacheKeys.exact("a", "b\u0000c", Endpoint.CHAT, json(body)))
        .isNotEqualTo(CacheKeys.exact("a\u0000b", "c", Endpoint.CHAT, json(body)));
  }

  @Test
  void deterministicMeansTemperatureZeroOrASeed() throws Exception {
    assertThat(CacheKeys.deterministic(Endpoint.CHAT, json("{\"temperature\":0}"))).isTrue();
    assertThat(CacheKeys.deterministic(Endpoint.CHAT, json("{\"temperature\":0.0}"))).isTrue();
    assertThat(CacheKeys.deterministic(Endpoint.CHAT, json("{\"seed\":42}"))).isTrue();
    assertThat(CacheKeys.deterministic(Endpoint.CHAT, json("{\"temperature\":0.2}"))).isFalse();
    assertThat(CacheKeys.deterministic(Endpoint.CHAT, json("{\"seed\":\"42\"}"))).isFalse();
    assertThat(CacheKeys.deterministic(Endpoint.CHAT, json("{}"))).isFalse();
    assertThat(CacheKeys.deterministic(Endpoint.EMBEDDINGS, json("{\"input\":\"x\"}"))).isFalse();
    assertThat(CacheKeys.cacheable(Endpoint.RESPONSES, json("{\"background\":true}"))).isFalse();
    assertThat(CacheKeys.cacheable(Endpoint.RESPONSES, json("{\"temperature\":0}"))).isTrue();
  }
}
