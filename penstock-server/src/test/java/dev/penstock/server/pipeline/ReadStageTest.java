package dev.penstock.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.telemetry.Outcome;
import dev.penstock.server.telemetry.RequestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The read stage, through the whole pipeline: a body Penstock cannot serve never goes upstream. */
class ReadStageTest {
  private final PipelineHarness h = new PipelineHarness(PipelineHarness.TWO_DEPLOYMENTS);

  @AfterEach
  void everythingSettled() {
    try {
      h.assertSettled();
    } finally {
      h.close();
    }
  }

  @Test
  void badJsonIsA400InOpenAisShapeWithPenstocksHeaders() {
    RecordingExchange client = RecordingExchange.of("{\"model\": \"gpt-4o\", \"messages\": [");

    h.handle(client);

    assertThat(client.status()).isEqualTo(400);
    assertThat(client.answerHeaders())
        .containsEntry("x-request-id", "req_1")
        .containsEntry("x-penstock-attempts", "0")
        .containsEntry("x-penstock-queue-ms", "0")
        .containsEntry("Content-Type", "application/json")
        .doesNotContainKey("x-penstock-deployment");
    JsonNode error = client.json().path("error");
    assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
    assertThat(error.path("message").asText()).startsWith("We could not parse the JSON body");
    assertThat(error.has("param")).isTrue();
    assertThat(error.has("code")).isTrue();
    assertThat(h.upstream.calls()).isEmpty();
    RequestRecord record = h.observer.only();
    assertThat(record.outcome()).isEqualTo(Outcome.CLIENT_ERROR);
    assertThat(record.status()).isEqualTo(400);
    assertThat(record.attempts()).isZero();
  }

  @Test
  void anUnknownModelIsA404AndNeverGoesUpstream() {
    RecordingExchange client = RecordingExchange.chat("gpt-nope", false);

    h.handle(client);

    assertThat(client.status()).isEqualTo(404);
    JsonNode error = client.json().path("error");
    assertThat(error.path("code").asText()).isEqualTo("model_not_found");
    assertThat(error.path("param").asText()).isEqualTo("model");
    assertThat(error.path("message").asText()).contains("'gpt-nope'");
    assertThat(client.answerHeaders()).containsEntry("x-penstock-attempts", "0");
    assertThat(h.upstream.calls()).isEmpty();
    // an unknown name is never recorded: it would make one metric series per client typo
    assertThat(h.observer.only().model()).isEmpty();
  }

  @Test
  void aBodyThatIsNotAnObjectIsA400() {
    RecordingExchange client = RecordingExchange.of("[1, 2]");

    h.handle(client);

    assertThat(client.status()).isEqualTo(400);
    assertThat(client.json().at("/error/code").asText()).isEqualTo("invalid_type");
    assertThat(h.upstream.calls()).isEmpty();
  }

  @Test
  void aMissingModelIsA400NamingTheParameter() {
    RecordingExchange client = RecordingExchange.of("{\"messages\":[]}");

    h.handle(client);

    assertThat(client.status()).isEqualTo(400);
    assertThat(client.json().at("/error/param").asText()).isEqualTo("model");
    assertThat(h.upstream.calls()).isEmpty();
  }
}
