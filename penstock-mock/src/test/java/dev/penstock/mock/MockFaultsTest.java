package dev.penstock.mock;

import static dev.penstock.mock.MockHttp.chat;
import static dev.penstock.mock.MockHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every injected fault, as a client sees it, and as {@code /__stats} counts it. */
class MockFaultsTest {
  private static final String KEY = "sk-test-faulty-000001";

  private MockServer server;
  private MockHttp http;

  private void start(FaultKind kind) {
    server =
        MockServer.start(
            MockConfig.builder()
                .port(0)
                .latency(LatencyModel.ZERO)
                .outputTokens(6)
                .hangMillis(30_000)
                .addKey(
                    KeySpec.of("faulty", KEY, 1000, 1_000_000)
                        .withFaults(new FaultRates(Map.of(kind, 1.0))))
                .build());
    http = new MockHttp(server);
  }

  @AfterEach
  void stop() {
    http.close();
    server.close();
  }

  private long counted(FaultKind kind) {
    return server.stats().getFirst().faults().get(kind.wireName());
  }

  @Test
  void error500() throws Exception {
    start(FaultKind.ERROR_500);
    HttpResponse<String> response = http.post("/v1/chat/completions", KEY, chat(5, false));
    assertThat(response.statusCode()).isEqualTo(500);
    assertThat(json(response).at("/error/type").asText()).isEqualTo("server_error");
    assertThat(counted(FaultKind.ERROR_500)).isEqualTo(1);
    assertThat(server.stats().getFirst().accepted()).as("the provider counted it").isEqualTo(1);
  }

  @Test
  void error502IsAnHtmlPageLikeALoadBalancerSendsIt() throws Exception {
    start(FaultKind.ERROR_502);
    HttpResponse<String> response = http.post("/v1/chat/completions", KEY, chat(5, false));
    assertThat(response.statusCode()).isEqualTo(502);
    assertThat(response.headers().firstValue("content-type")).hasValue("text/html");
    assertThat(response.body()).contains("502 Bad Gateway");
  }

  @Test
  void error503() throws Exception {
    start(FaultKind.ERROR_503);
    HttpResponse<String> response =
        http.post("/v1/embeddings", KEY, "{\"model\":\"e\",\"input\":\"x\"}");
    assertThat(response.statusCode()).isEqualTo(503);
    assertThat(json(response).at("/error/message").asText()).contains("overloaded");
  }

  @Test
  void resetDropsTheConnectionBeforeAnyAnswer() {
    start(FaultKind.RESET);
    assertThatThrownBy(() -> http.post("/v1/chat/completions", KEY, chat(5, false)))
        .isInstanceOf(IOException.class);
    assertThat(counted(FaultKind.RESET)).isEqualTo(1);
  }

  @Test
  void hangNeverAnswersSoTheClientTimesOut() {
    start(FaultKind.HANG);
    assertThatThrownBy(
            () -> http.send("/v1/chat/completions", KEY, chat(5, false), Duration.ofMillis(300)))
        .isInstanceOf(HttpTimeoutException.class);
    assertThat(counted(FaultKind.HANG)).isEqualTo(1);
  }

  @Test
  void malformedBodyIsNotJson() throws Exception {
    start(FaultKind.MALFORMED);
    HttpResponse<String> response = http.post("/v1/chat/completions", KEY, chat(5, false));
    assertThat(response.statusCode()).isEqualTo(200);
    assertThatThrownBy(() -> json(response)).isInstanceOf(JsonProcessingException.class);
  }

  @Test
  void malformedStreamCarriesOneBrokenEvent() throws Exception {
    start(FaultKind.MALFORMED);
    List<String> data =
        http.streamLines("/v1/chat/completions", KEY, chat(5, true)).stream()
            .filter(l -> l.startsWith("data: {"))
            .toList();
    long broken =
        data.stream()
            .filter(
                l -> {
                  try {
                    MockHttp.JSON.readTree(l.substring(6));
                    return false;
                  } catch (IOException e) {
                    return true;
                  }
                })
            .count();
    assertThat(broken).isEqualTo(1);
  }

  @Test
  void cutStreamStopsMidWayWithoutDone() throws Exception {
    start(FaultKind.CUT);
    MockHttp.StreamRead read = http.streamUntilEnd("/v1/chat/completions", KEY, chat(6, true));
    assertThat(read.failure()).as("the chunked stream breaks").isNotNull();
    assertThat(read.lines()).contains("").doesNotContain("data: [DONE]");
    assertThat(read.lines().stream().filter(l -> l.startsWith("data: {"))).hasSizeBetween(1, 6);
    assertThat(counted(FaultKind.CUT)).isEqualTo(1);
  }

  @Test
  void cutBodyIsShorterThanItsContentLength() {
    start(FaultKind.CUT);
    assertThatThrownBy(() -> http.post("/v1/chat/completions", KEY, chat(5, false)))
        .isInstanceOf(IOException.class);
  }

  @Test
  void quotaIsInsufficientQuotaAndIsNotChargedToTheWindow() throws Exception {
    start(FaultKind.QUOTA);
    HttpResponse<String> response = http.post("/v1/chat/completions", KEY, chat(5, false));
    assertThat(response.statusCode()).isEqualTo(429);
    assertThat(json(response).at("/error/code").asText()).isEqualTo("insufficient_quota");
    assertThat(json(response).at("/error/type").asText()).isEqualTo("insufficient_quota");
    KeyStats stats = server.stats().getFirst();
    assertThat(stats.requests()).isEqualTo(1);
    assertThat(stats.accepted()).isZero();
    assertThat(stats.faults().get("quota")).isEqualTo(1);
  }
}
