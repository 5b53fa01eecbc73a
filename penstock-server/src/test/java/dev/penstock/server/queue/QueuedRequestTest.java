package dev.penstock.server.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.AMQP;
import dev.penstock.core.queue.Priority;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.Endpoint;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How a message is read, and what becomes of an answer: pure rules, no broker. */
class QueuedRequestTest {

  @Test
  void prioritiesMapInThirdsAndAnAbsentOneIsLowAsInRabbitMq() {
    StringBuilder map = new StringBuilder();
    for (int p = 0; p <= 11; p++) {
      map.append(p).append('=').append(QueuedRequest.priorityOf(p, 10).wireName()).append(' ');
    }
    assertThat(map.toString().trim())
        .isEqualTo(
            "0=low 1=low 2=low 3=low 4=normal 5=normal 6=normal 7=high 8=high 9=high 10=high"
                + " 11=high");
    assertThat(QueuedRequest.priorityOf(null, 10)).isEqualTo(Priority.LOW);
    assertThat(QueuedRequest.priorityOf(0, 1)).isEqualTo(Priority.LOW);
    assertThat(QueuedRequest.priorityOf(1, 1)).isEqualTo(Priority.HIGH);
    assertThat(QueuedRequest.priorityOf(1, 2)).isEqualTo(Priority.NORMAL);
    assertThat(QueuedRequest.priorityOf(255, 255)).isEqualTo(Priority.HIGH);
  }

  @Test
  void theEndpointComesFromTheHeaderThenTheTypeAndDefaultsToChat() {
    assertThat(QueuedRequest.endpoint(null, null)).isEqualTo(Endpoint.CHAT);
    assertThat(QueuedRequest.endpoint("/v1/embeddings", null)).isEqualTo(Endpoint.EMBEDDINGS);
    assertThat(QueuedRequest.endpoint("/v1/embeddings", "/v1/responses"))
        .isEqualTo(Endpoint.RESPONSES);
    assertThat(QueuedRequest.endpoint("/completions", "")).isEqualTo(Endpoint.COMPLETIONS);
    assertThatThrownBy(() -> QueuedRequest.endpoint("/v1/images/generations", null))
        .isInstanceOf(ApiError.class)
        .hasFieldOrPropertyWithValue("code", "invalid_endpoint");
  }

  @Test
  void aMessageIsReadFromItsPropertiesAndHeaders() {
    Map<String, Object> headers = new HashMap<>();
    headers.put("Authorization", "Bearer pk-abc");
    headers.put("x-penstock-timeout-ms", "1234");
    headers.put("x-penstock-cache", "no-store");
    AMQP.BasicProperties props =
        new AMQP.BasicProperties.Builder().priority(8).headers(headers).build();
    QueuedRequest r =
        QueuedRequest.read(props, bytes("{\"model\":\"m\",\"messages\":[]}"), 10, 60_000);
    assertThat(r.endpoint()).isEqualTo(Endpoint.CHAT);
    assertThat(r.priority()).isEqualTo(Priority.HIGH);
    assertThat(r.timeoutMillis()).isEqualTo(1234);
    assertThat(r.presentedKey()).isEqualTo("pk-abc");
    assertThat(r.model()).isEqualTo("m");
    assertThat(r.headers()).containsExactly(Map.entry("x-penstock-cache", "no-store"));

    QueuedRequest bare = QueuedRequest.read(new AMQP.BasicProperties(), bytes("junk"), 10, 60_000);
    assertThat(bare.timeoutMillis()).isEqualTo(60_000);
    assertThat(bare.model()).isNull();
    assertThat(bare.presentedKey()).isEmpty();

    assertThatThrownBy(
            () ->
                QueuedRequest.read(
                    new AMQP.BasicProperties(), bytes("{\"model\":\"m\",\"stream\":true}"), 10, 1))
        .hasFieldOrPropertyWithValue("code", "stream_unsupported");
    AMQP.BasicProperties badTimeout =
        new AMQP.BasicProperties.Builder().headers(Map.of("x-penstock-timeout-ms", "0")).build();
    assertThatThrownBy(() -> QueuedRequest.read(badTimeout, bytes("{}"), 10, 1))
        .hasFieldOrPropertyWithValue("code", "invalid_header");
  }

  @Test
  void onlyRefusalsForCapacityGoBackToTheQueue() {
    assertThat(Disposition.of(200, false, false, null)).isEqualTo(Disposition.ANSWER);
    assertThat(Disposition.of(0, false, false, null)).isEqualTo(Disposition.REQUEUE);
    assertThat(Disposition.of(499, false, false, "client_closed")).isEqualTo(Disposition.REQUEUE);
    assertThat(Disposition.of(429, true, false, "penstock_overloaded"))
        .isEqualTo(Disposition.REQUEUE);
    assertThat(Disposition.of(429, true, false, "rate_limit_exceeded"))
        .isEqualTo(Disposition.REQUEUE);
    assertThat(Disposition.of(503, true, false, "shutting_down")).isEqualTo(Disposition.REQUEUE);
    assertThat(Disposition.of(503, true, false, "no_deployment")).isEqualTo(Disposition.REQUEUE);
    // Waiting does not help these.
    assertThat(Disposition.of(429, false, true, "budget_exceeded"))
        .isEqualTo(Disposition.DEAD_LETTER);
    assertThat(Disposition.of(429, false, false, "insufficient_quota"))
        .isEqualTo(Disposition.DEAD_LETTER);
    assertThat(Disposition.of(400, false, false, null)).isEqualTo(Disposition.DEAD_LETTER);
    assertThat(Disposition.of(401, false, false, "invalid_api_key"))
        .isEqualTo(Disposition.DEAD_LETTER);
    assertThat(Disposition.of(404, false, false, "model_not_found"))
        .isEqualTo(Disposition.DEAD_LETTER);
    assertThat(Disposition.of(502, false, false, "upstream_failed"))
        .isEqualTo(Disposition.DEAD_LETTER);
  }

  @Test
  void theBrokerIsDescribedWithoutItsCredentials() {
    assertThat(RabbitIngress.describe("amqp://user:s3cret@mq.example:5673/prod"))
        .isEqualTo("mq.example:5673/prod")
        .doesNotContain("s3cret");
    assertThat(RabbitIngress.describe("amqps://u:p@mq.example")).isEqualTo("mq.example:5671/");
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
