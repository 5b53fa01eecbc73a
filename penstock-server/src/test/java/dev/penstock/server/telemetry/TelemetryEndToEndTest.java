package dev.penstock.server.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.mock.FaultKind;
import dev.penstock.mock.FaultRates;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.KeyStats;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.mock.MockServer;
import dev.penstock.server.deploy.MetricNames;
import dev.penstock.server.http.GatewayServer;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.testing.GatewayFixture;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * After a scripted run against the simulator, what the gateway reports — {@code /metrics}, the
 * dashboard's data, the access log — matches what happened, as the simulator itself counted it; and
 * no upstream key appears anywhere an operator looks (SPEC 8, 12).
 */
class TelemetryEndToEndTest {
  private static final String STEADY_KEY = "sk-up-steady-SECRET-7f3a9c";
  private static final String FLAKY_KEY = "sk-up-flaky-SECRET-2b8d41";

  /** Configured for a deployment the simulator does not know: its 401 echoes a masked key. */
  private static final String WRONG_KEY = "sk-live-LEAKCHECK-5e6f7a8b9c";

  private GatewayFixture fixture;
  private MockServer mock;
  private GatewayServer gateway;
  private final HttpClient http = HttpClient.newHttpClient();

  /** Access lines seen: a request's line is written just after its answer is sent. */
  private final java.util.concurrent.Semaphore accessSeen = new java.util.concurrent.Semaphore(0);

  private final ListAppender<ILoggingEvent> logs =
      new ListAppender<>() {
        @Override
        protected void append(ILoggingEvent event) {
          super.append(event);
          if (event.getLoggerName().equals(AccessLog.LOGGER)) {
            accessSeen.release();
          }
        }
      };
  private Logger root;

  @BeforeEach
  void start() {
    root = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(Logger.ROOT_LOGGER_NAME);
    logs.start();
    root.addAppender(logs);
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(5, 0, 0))
            .outputTokens(8)
            .seed(11)
            .addKey(KeySpec.of("steady", STEADY_KEY, 600, 1_000_000))
            .addKey(
                KeySpec.of("flaky", FLAKY_KEY, 600, 1_000_000)
                    .withFaults(new FaultRates(Map.of(FaultKind.ERROR_500, 1.0))))
            .build();
    String yaml =
        """
        listen: 127.0.0.1:0
        defaults: {pacing_guard_ms: 100}
        retry: {attempts: 3, backoff_base_ms: 1, backoff_cap_ms: 5}
        models:
          gpt-4o-mini:
            deployments:
              - {name: steady, base_url: "%1$s", api_key: "%2$s", rpm: 600, tpm: 1000000}
              - {name: flaky, base_url: "%1$s", api_key: "%3$s", rpm: 600, tpm: 1000000}
          gpt-wrong:
            deployments:
              - {name: wrong, base_url: "%1$s", api_key: "%4$s", upstream_model: gpt-4o-mini,
                 rpm: 600, tpm: 1000000}
        """
            .formatted("${MOCK}", STEADY_KEY, FLAKY_KEY, WRONG_KEY);
    fixture = GatewayFixture.start(simulator, yaml);
    mock = fixture.mock();
    gateway = fixture.gateway();
  }

  @AfterEach
  void stop() {
    root.detachAppender(logs);
    if (fixture != null) {
      fixture.close(); // fails the test if it left anything behind
    }
    http.close();
  }

  @Test
  void reportsWhatHappenedAndNeverAKey() throws Exception {
    Set<String> requestIds = new HashSet<>();
    long promptTokens = 0;
    long completionTokens = 0;
    for (int i = 0; i < 30; i++) {
      HttpResponse<String> r = post(chat("gpt-4o-mini", false), Map.of());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      requestIds.add(r.headers().firstValue("x-request-id").orElseThrow());
      JsonNode usage = RequestReader.JSON.readTree(r.body()).path("usage");
      promptTokens += usage.path("prompt_tokens").asLong();
      completionTokens += usage.path("completion_tokens").asLong();
    }
    for (int i = 0; i < 10; i++) {
      HttpResponse<String> r = post(chat("gpt-4o-mini", true), Map.of());
      assertThat(r.statusCode()).isEqualTo(200);
      requestIds.add(r.headers().firstValue("x-request-id").orElseThrow());
      JsonNode usage = lastUsage(r.body());
      promptTokens += usage.path("prompt_tokens").asLong();
      completionTokens += usage.path("completion_tokens").asLong();
    }
    List<HttpResponse<String>> refused = new ArrayList<>();
    refused.add(post("{not json", Map.of()));
    refused.add(post(chat("no-such-model", false), Map.of()));
    refused.add(post(chat("gpt-4o-mini", false), Map.of("x-penstock-priority", "urgent")));
    refused.add(post(chat("gpt-wrong", false), Map.of()));
    assertThat(refused).extracting(HttpResponse::statusCode).containsExactly(400, 404, 400, 401);
    refused.forEach(r -> requestIds.add(r.headers().firstValue("x-request-id").orElseThrow()));
    // The access log is told last, after the metrics and the dashboard: all 44 are recorded.
    awaitAccessLines(44);

    KeyStats steady = stats("steady");
    KeyStats flaky = stats("flaky");
    PrometheusText metrics = PrometheusText.parse(get("/metrics", Map.of()).body());

    // Requests, by how they ended: 40 served, 4 refused as the client's mistakes.
    assertThat(metrics.sum("penstock_requests_total", "outcome", "ok", "status_class", "2xx"))
        .isEqualTo(40);
    assertThat(metrics.sum("penstock_requests_total", "outcome", "ok", "deployment", "steady"))
        .isEqualTo(40);
    assertThat(metrics.sum("penstock_requests_total", "outcome", "client_error")).isEqualTo(4);
    assertThat(
            metrics.sum(
                "penstock_requests_total", "model", "", "deployment", "", "status_class", "4xx"))
        .as("an unknown model name never becomes a label value (nor one refused before its body)")
        .isEqualTo(3);
    assertThat(metrics.sum("penstock_request_duration_seconds_count")).isEqualTo(44);
    assertThat(metrics.sum("penstock_time_to_first_token_seconds_count")).isEqualTo(40);

    // Every attempt the simulator failed on the flaky key was retried on another deployment.
    assertThat(flaky.faults().get("500")).isPositive();
    assertThat(metrics.sum("penstock_retries_total", "deployment", "flaky", "reason", "status_5xx"))
        .isEqualTo(flaky.faults().get("500").doubleValue());
    assertThat(metrics.sum("penstock_upstream_rate_limited_total")).isZero();

    // Tokens: what the upstream reported, which is what the simulator counted.
    assertThat(promptTokens).isEqualTo(steady.promptTokens());
    assertThat(metrics.sum("penstock_tokens_total", "deployment", "steady", "type", "input"))
        .isEqualTo((double) steady.promptTokens());
    assertThat(metrics.sum("penstock_tokens_total", "deployment", "steady", "type", "output"))
        .isEqualTo((double) steady.completionTokens())
        .isEqualTo((double) completionTokens);

    // The pool's state: steady carried the 40 answers in this window, against 600 RPM.
    assertThat(metrics.sum("penstock_deployment_requests_in_window", "deployment", "steady"))
        .isEqualTo((double) steady.requests());
    assertThat(
            metrics.sum(
                "penstock_deployment_utilization_ratio",
                "deployment",
                "steady",
                "resource",
                "requests"))
        .isCloseTo(steady.requests() / 600.0, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(metrics.sum("penstock_deployment_rpm_limit", "deployment", "steady")).isEqualTo(600);
    assertThat(
            metrics.sum(
                "penstock_deployment_circuit_state", "deployment", "flaky", "state", "open"))
        .as("five failures in a row opened the flaky deployment's circuit")
        .isEqualTo(1);
    assertThat(metrics.has("penstock_queue_depth", "model", "gpt-4o-mini", "priority", "high"))
        .isTrue();
    assertThat(metrics.has("jvm_memory_used_bytes")).isTrue();
    // The names the shipped alerts and dashboard use (deploy/) are the names exposed.
    Set<String> exposed =
        metrics.samples().stream()
            .map(PrometheusText.Sample::name)
            .filter(n -> n.startsWith("penstock_") && !n.endsWith("_max"))
            .collect(Collectors.toSet());
    assertThat(MetricNames.EXPOSED).containsAll(exposed);
    assertThat(exposed)
        .containsAll(
            MetricNames.EXPOSED.stream()
                // Not here: refusals, upstream 429s, virtual keys (this gateway has none),
                // models without a price, cache hits (its requests are not deterministic) and
                // embedding batches (off), queue messages (no queue ingress).
                .filter(
                    n ->
                        !n.contains("rate_limited")
                            && !n.contains("rejected")
                            && !n.startsWith("penstock_key_")
                            && !n.contains("unpriced")
                            && !n.startsWith("penstock_cache_saved_")
                            && !n.startsWith("penstock_embedding_")
                            && !n.equals("penstock_queue_messages_total"))
                .toList());
    assertThat(metrics.has("process_cpu_usage")).isTrue();

    // The dashboard's data tells the same story.
    JsonNode state = RequestReader.JSON.readTree(get("/ui/api/state", Map.of()).body());
    assertThat(state.path("totals").path("requests").asLong()).isEqualTo(44);
    assertThat(state.path("totals").path("errors").asLong()).isZero();
    assertThat(state.path("totals").path("retries").asLong()).isEqualTo(flaky.faults().get("500"));
    assertThat(state.path("totals").path("tokens_out").asLong()).isEqualTo(completionTokens);
    assertThat(state.path("recent_errors")).hasSize(4);
    long inSeries = 0;
    for (JsonNode second : state.path("series")) {
      inSeries += second.path("requests").asLong();
    }
    assertThat(inSeries).isEqualTo(44);
    assertThat(state.path("deployments").findValuesAsText("name"))
        .containsExactly("steady", "flaky", "wrong");

    // One access log line per request, each with its request id and where its time went.
    List<ILoggingEvent> access = accessLines();
    assertThat(access).hasSize(44);
    Map<String, Map<String, Object>> byId =
        access.stream()
            .map(TelemetryEndToEndTest::fields)
            .collect(Collectors.toMap(f -> (String) f.get("request_id"), f -> f));
    assertThat(byId.keySet()).isEqualTo(requestIds);
    Map<String, Object> served =
        byId.values().stream()
            .filter(f -> Boolean.FALSE.equals(f.get("stream")) && "ok".equals(f.get("outcome")))
            .findFirst()
            .orElseThrow();
    assertThat(served)
        .containsEntry("model", "gpt-4o-mini")
        .containsEntry("deployment", "steady")
        .containsEntry("status", 200)
        .containsKeys("queue_ms", "upstream_ms", "total_ms", "tokens_in", "tokens_out", "tenant");
    assertThat(((Number) served.get("tokens_out")).longValue()).isPositive();

    // No upstream key, whole or masked, anywhere the operator looks.
    String everything =
        String.join(
            "\n",
            get("/metrics", Map.of()).body(),
            get("/ui/api/state", Map.of()).body(),
            get("/admin/deployments", Map.of()).body(),
            logs.list.stream()
                .map(e -> e.getFormattedMessage() + " " + e.getKeyValuePairs())
                .collect(Collectors.joining("\n")));
    for (String key : List.of(STEADY_KEY, FLAKY_KEY, WRONG_KEY)) {
      assertThat(everything).doesNotContain(key).doesNotContain(key.substring(0, 12));
      assertThat(everything).doesNotContain(key.substring(key.length() - 8));
    }
    assertThat(everything).contains("[redacted]"); // the 401's masked key, removed
  }

  @Test
  void withMetricsAndAccessLogOffNothingIsMeasuredOrWritten() throws Exception {
    String yaml =
        """
        listen: 127.0.0.1:0
        metrics: {enabled: false}
        logging: {access_log: false}
        models:
          gpt-4o-mini:
            deployments:
              - {name: steady, base_url: "%s", api_key: "%s", rpm: 600, tpm: 1000000}
        """
            .formatted("${MOCK}", STEADY_KEY);
    gateway = fixture.restart(yaml);
    assertThat(post(chat("gpt-4o-mini", false), Map.of()).statusCode()).isEqualTo(200);

    HttpResponse<String> metrics = get("/metrics", Map.of());
    assertThat(metrics.statusCode()).isEqualTo(404);
    assertThat(RequestReader.JSON.readTree(metrics.body()).path("error").path("code").asText())
        .isEqualTo("metrics_disabled");
    assertThat(get("/ui/api/state", Map.of()).statusCode()).isEqualTo(404);
    assertThat(accessLines()).isEmpty();
  }

  @Test
  void logBodiesPutsTheRequestBodyOnTheAccessLine() throws Exception {
    String yaml =
        """
        listen: 127.0.0.1:0
        logging: {log_bodies: true}
        models:
          gpt-4o-mini:
            deployments:
              - {name: steady, base_url: "%s", api_key: "%s", rpm: 600, tpm: 1000000}
        """
            .formatted("${MOCK}", STEADY_KEY);
    gateway = fixture.restart(yaml);
    String body = chat("gpt-4o-mini", false);
    assertThat(post(body, Map.of()).statusCode()).isEqualTo(200);
    awaitAccessLines(1);
    assertThat(accessLines())
        .singleElement()
        .satisfies(e -> assertThat(fields(e)).containsEntry("request_body", body));
  }

  private void awaitAccessLines(int count) throws InterruptedException {
    assertThat(accessSeen.tryAcquire(count, 10, java.util.concurrent.TimeUnit.SECONDS))
        .as("%d access lines written", count)
        .isTrue();
  }

  private List<ILoggingEvent> accessLines() {
    return logs.list.stream().filter(e -> e.getLoggerName().equals(AccessLog.LOGGER)).toList();
  }

  private static Map<String, Object> fields(ILoggingEvent event) {
    Map<String, Object> fields = new java.util.HashMap<>();
    event.getKeyValuePairs().forEach(kv -> fields.put(kv.key, kv.value));
    return fields;
  }

  private KeyStats stats(String name) {
    return mock.stats().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
  }

  private static String chat(String model, boolean stream) {
    return """
        {"model":"%s","messages":[{"role":"user","content":"Hello there"}],"max_tokens":20%s}"""
        .formatted(
            model, stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "");
  }

  private static JsonNode lastUsage(String sse) throws IOException {
    JsonNode usage = RequestReader.JSON.createObjectNode();
    for (String line : sse.split("\n", -1)) {
      if (line.startsWith("data: {")) {
        JsonNode chunk = RequestReader.JSON.readTree(line.substring(6));
        if (chunk.path("usage").isObject()) {
          usage = chunk.path("usage");
        }
      }
    }
    return usage;
  }

  private HttpResponse<String> post(String body, Map<String, String> headers) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/chat/completions"))
            .header("Content-Type", "application/json")
            .header("Authorization", "Bearer pk-client")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(request::header);
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(String path, Map<String, String> headers) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(gateway.baseUrl().replace("/v1", "") + path));
    headers.forEach(request::header);
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
