package dev.penstock.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.mock.KeySpec;
import dev.penstock.mock.MockServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The {@link java.net.http}-style API, and the metrics in the application's registry. */
class PlainApiAndMetricsTest {
  private MockServer mock;
  private Penstock penstock;
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @AfterEach
  void stop() {
    if (penstock != null) {
      penstock.close();
    }
    if (mock != null) {
      mock.close();
    }
  }

  private void start() {
    mock = Mocks.start(KeySpec.of("a", "sk-emb-a-000001", 600, 1_000_000));
    penstock =
        Penstock.builder()
            .model(Mocks.model(mock))
            .settings(Mocks.settings())
            .meterRegistry(registry)
            .build();
  }

  private static HttpRequest post(String path, byte[] body) {
    return HttpRequest.newBuilder(URI.create("http://penstock/v1/" + path))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
        .build();
  }

  @Test
  void aJdkRequestIsPacedAndItsAnswerDeliveredToItsBodyHandler() throws Exception {
    start();
    HttpResponse<String> answer =
        penstock.send(
            post("chat/completions", Mocks.chat(false)), HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.body()).contains("\"object\":\"chat.completion\"");
    assertThat(answer.headers().firstValue("x-penstock-deployment")).contains("a");

    HttpResponse<InputStream> stream =
        penstock.send(
            post("chat/completions", Mocks.chat(true)), HttpResponse.BodyHandlers.ofInputStream());
    String events;
    try (InputStream body = stream.body()) {
      events = new String(body.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(events).contains("data: [DONE]").contains("\"usage\"");
    Mocks.await(
        "the stream's reservation to be settled",
        java.time.Duration.ofSeconds(5),
        () -> penstock.outstanding() == 0);

    HttpResponse<String> models =
        penstock.send(
            HttpRequest.newBuilder(URI.create("http://penstock/v1/models")).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(models.body()).contains("\"id\":\"gpt-4o-mini\"");
    HttpResponse<String> unknown =
        penstock.send(
            post(
                "chat/completions",
                "{\"model\":\"nope\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8)),
            HttpResponse.BodyHandlers.ofString());
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(unknown.body()).contains("model_not_found");
  }

  @Test
  void callsAreCountedInTheApplicationsRegistryUnderTheGatewaysNames() throws Exception {
    start();
    try (PenstockResponse answer =
        penstock.call(PenstockRequest.post("chat/completions", Mocks.chat(false)))) {
      assertThat(answer.status()).isEqualTo(200);
    }
    assertThat(
            registry
                .get("penstock.requests")
                .tags("model", Mocks.MODEL, "deployment", "a", "outcome", "success")
                .counter()
                .count())
        .isEqualTo(1);
    assertThat(registry.get("penstock.queue.wait").timer().count()).isEqualTo(1);
    assertThat(registry.get("penstock.tokens").tags("type", "output").counter().count())
        .isPositive();
    assertThat(
            registry
                .get("penstock.deployment.utilization.ratio")
                .tags("deployment", "a", "resource", "requests")
                .gauge()
                .value())
        .isEqualTo(1 / 600.0);
    assertThat(registry.get("penstock.deployment.rpm.limit").gauge().value()).isEqualTo(600);
    penstock.close();
    assertThat(registry.find("penstock.requests").counter()).as("removed on close").isNull();
    assertThat(registry.find("penstock.deployment.rpm.limit").gauge()).isNull();
  }
}
