package dev.penstock.server.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import dev.penstock.mock.KeySpec;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.http.GatewayServer;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.tenant.VirtualKey;
import dev.penstock.server.tenant.VirtualKeys;
import dev.penstock.server.testing.GatewayFixture;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The RabbitMQ ingress end to end, on the real RabbitMQ at 127.0.0.1:5672 (CI starts it; a
 * developer's machine without one skips these, CI fails instead): a gateway in front of the
 * provider simulator consumes a queue of its own (a random name per test, deleted after), and the
 * test publishes requests with a reply queue and reads what comes back.
 */
class RabbitIngressTest {
  private static final String KEY = "sk-up-rabbit-e2e";
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final String queue = "penstock-test-" + UUID.randomUUID();
  private GatewayFixture fixture;
  private Connection amqp;
  private Channel channel;
  private String replyQueue;
  private final LinkedBlockingQueue<Reply> replies = new LinkedBlockingQueue<>();

  /** A reply as it arrived. */
  record Reply(String correlationId, int status, Map<String, Object> headers, JsonNode body) {
    String header(String name) {
      Object v = headers.get(name);
      return v == null ? "" : v.toString();
    }
  }

  @BeforeEach
  void connect() throws Exception {
    assumeTrue(
        rabbitAnswers() || "true".equals(System.getenv("CI")), "no RabbitMQ on 127.0.0.1:5672");
    ConnectionFactory factory = new ConnectionFactory();
    factory.setUri("amqp://guest:guest@127.0.0.1:5672");
    amqp = factory.newConnection("penstock-test");
    channel = amqp.createChannel();
    replyQueue = channel.queueDeclare().getQueue(); // server-named, exclusive, auto-delete
    channel.basicConsume(
        replyQueue,
        true,
        new DefaultConsumer(channel) {
          @Override
          public void handleDelivery(
              String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body)
              throws IOException {
            Map<String, Object> headers =
                props.getHeaders() == null ? Map.of() : new HashMap<>(props.getHeaders());
            Object status = headers.get("x-status-code");
            replies.add(
                new Reply(
                    String.valueOf(props.getCorrelationId()),
                    status == null ? -1 : Integer.parseInt(status.toString()),
                    headers,
                    RequestReader.JSON.readTree(body)));
          }
        });
  }

  @AfterEach
  void cleanUp() throws Exception {
    if (fixture != null) {
      fixture.close();
    }
    if (channel != null) {
      channel.queueDelete(queue);
      channel.queueDelete(queue + ".dead");
      channel.exchangeDelete(queue + ".dead");
      amqp.close();
    }
  }

  @Test
  void answersComeBackOnReplyToWithTheirCorrelationIds() throws Exception {
    start(0, 16, 1);
    for (int i = 0; i < 6; i++) {
      publish("chat-" + i, chat("Hello " + i), i * 2, Map.of());
    }
    publish(
        "embed",
        "{\"model\":\"text-embedding-3-small\",\"input\":\"queued\"}",
        5,
        Map.of("x-penstock-endpoint", "/v1/embeddings"));
    Map<String, Reply> byId = new HashMap<>();
    for (Reply r : take(7)) {
      byId.put(r.correlationId(), r);
    }
    assertThat(byId.keySet())
        .containsExactlyInAnyOrder(
            "chat-0", "chat-1", "chat-2", "chat-3", "chat-4", "chat-5", "embed");
    for (int i = 0; i < 6; i++) {
      Reply r = byId.get("chat-" + i);
      assertThat(r.status()).as(r.body().toString()).isEqualTo(200);
      assertThat(r.body().path("choices").get(0).path("message").path("content").asText())
          .isNotEmpty();
      assertThat(r.header("x-request-id")).startsWith("req_");
      assertThat(r.header("x-penstock-deployment")).isEqualTo("up");
    }
    Reply embed = byId.get("embed");
    assertThat(embed.status()).as(embed.body().toString()).isEqualTo(200);
    assertThat(embed.body().path("data").get(0).path("embedding").isArray()).isTrue();
    RabbitIngress ingress = ingress();
    awaitTrue(() -> ingress.messages("answered") == 7, "seven messages acknowledged");
    awaitTrue(() -> ingress.inFlight() == 0, "nothing held");
    assertThat(ready(queue)).isZero();
    assertThat(ready(queue + ".dead")).isZero();
    String metrics = fixture.get("/metrics", Map.of()).body();
    assertThat(metrics)
        .containsPattern(
            "penstock_queue_messages_total\\{outcome=\"answered\",queue=\""
                + queue
                + "\"\\} 7(\\.0)?\n");
  }

  @Test
  void higherPrioritiesComeBackFirstUnderSaturation() throws Exception {
    // One request at a time upstream, 40 ms each: the pool is saturated for well over a second.
    start(40, 2, 1);
    for (int i = 0; i < 20; i++) {
      publish("low-" + i, chat("low " + i), 1, Map.of());
    }
    for (int i = 0; i < 10; i++) {
      publish("normal-" + i, chat("normal " + i), 5, Map.of());
    }
    for (int i = 0; i < 10; i++) {
      publish("high-" + i, chat("high " + i), 9, Map.of());
    }
    List<String> order = new ArrayList<>();
    for (Reply r : take(40)) {
      assertThat(r.status()).as(r.body().toString()).isEqualTo(200);
      order.add(r.correlationId());
    }
    double high = meanRank(order, "high-");
    double normal = meanRank(order, "normal-");
    double low = meanRank(order, "low-");
    assertThat(high).as("mean rank of high, in %s", order).isLessThan(normal);
    assertThat(normal).as("mean rank of normal, in %s", order).isLessThan(low);
    // Only the few lows taken before the highs were published may precede them.
    int lastHigh = lastIndex(order, "high-");
    long lowsAfter =
        order.subList(lastHigh, order.size()).stream().filter(id -> id.startsWith("low-")).count();
    assertThat(lowsAfter)
        .as("lows answered after the last high, in %s", order)
        .isGreaterThanOrEqualTo(12);
  }

  @Test
  void permanentFailuresEndOnTheDeadLetterQueueWithTheErrorInHeaders() throws Exception {
    start(0, 16, 1);
    publish("poison", "this is not json", 5, Map.of());
    publish("unknown", "{\"model\":\"no-such-model\",\"messages\":[]}", 5, Map.of());
    publish("stream", "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}", 5, Map.of());
    publish("endpoint", chat("x"), 5, Map.of("x-penstock-endpoint", "/v1/images"));
    publishWithoutReplyTo("orphan", chat("nowhere to answer"));
    publish("fine", chat("fine"), 5, Map.of());

    Map<String, GetResponse> dead = new HashMap<>();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (dead.size() < 5) {
      assertThat(System.nanoTime())
          .as("five dead letters, got %s", dead.keySet())
          .isLessThan(deadline);
      GetResponse g = channel.basicGet(queue + ".dead", true);
      if (g == null) {
        LockSupport.parkNanos(10_000_000);
      } else {
        dead.put(g.getProps().getCorrelationId(), g);
      }
    }
    GetResponse poison = dead.get("poison");
    assertThat(new String(poison.getBody(), StandardCharsets.UTF_8)).isEqualTo("this is not json");
    assertThat(header(poison, "x-penstock-status-code")).isEqualTo("400");
    assertThat(header(poison, "x-penstock-error-type")).isEqualTo("invalid_request_error");
    assertThat(header(poison, "x-penstock-error-message")).contains("could not parse the JSON");
    assertThat(header(poison, "x-penstock-queue")).isEqualTo(queue);
    assertThat(poison.getProps().getReplyTo()).isEqualTo(replyQueue);
    assertThat(header(dead.get("unknown"), "x-penstock-error-code")).isEqualTo("model_not_found");
    assertThat(header(dead.get("unknown"), "x-penstock-status-code")).isEqualTo("404");
    assertThat(header(dead.get("stream"), "x-penstock-error-code")).isEqualTo("stream_unsupported");
    assertThat(header(dead.get("endpoint"), "x-penstock-error-code")).isEqualTo("invalid_endpoint");
    assertThat(header(dead.get("orphan"), "x-penstock-error-code")).isEqualTo("missing_reply_to");

    // The requesters (those with a reply_to) hear of their failure too; the good one is answered.
    Map<String, Reply> byId = new HashMap<>();
    for (Reply r : take(5)) {
      byId.put(r.correlationId(), r);
    }
    assertThat(byId.get("fine").status()).isEqualTo(200);
    assertThat(byId.get("unknown").status()).isEqualTo(404);
    assertThat(byId.get("unknown").body().path("error").path("code").asText())
        .isEqualTo("model_not_found");
    assertThat(byId.get("poison").status()).isEqualTo(400);
    RabbitIngress ingress = ingress();
    awaitTrue(
        () -> ingress.messages("dead_lettered") == 5 && ingress.messages("answered") == 1,
        "five dead-lettered and one answered, all acknowledged");
    assertThat(ready(queue)).isZero();
  }

  @Test
  void aCrashLosesNoMessage() throws Exception {
    int n = 30;
    String yaml = start(30, 6, 2);
    for (int i = 0; i < n; i++) {
      publish("m-" + i, chat("message " + i), i % 10, Map.of());
    }
    List<Reply> before = take(5);
    ingress().crash(); // as kill -9 does: the connection drops, nothing held is acknowledged
    GatewayServer second = fixture.restart(yaml);
    awaitTrue(() -> second.rabbit().orElseThrow().connected(), "the second gateway to connect");

    Set<String> answered = new HashSet<>();
    List<String> all = new ArrayList<>();
    for (Reply r : before) {
      answered.add(r.correlationId());
      all.add(r.correlationId());
    }
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (answered.size() < n) {
      assertThat(System.nanoTime()).as("all %d answered, got %s", n, answered).isLessThan(deadline);
      Reply r = replies.poll(100, TimeUnit.MILLISECONDS);
      if (r != null) {
        assertThat(r.status()).as(r.body().toString()).isEqualTo(200);
        answered.add(r.correlationId());
        all.add(r.correlationId());
      }
    }
    // Answered twice at most: those whose answer was published before the crash took their ack.
    int duplicates = all.size() - answered.size();
    assertThat(duplicates).as("duplicates in %s", all).isLessThanOrEqualTo(6);
    awaitTrue(() -> second.rabbit().orElseThrow().inFlight() == 0, "nothing held");
    assertThat(ready(queue)).isZero();
  }

  @Test
  void onceKeysExistAMessageNeedsOneAndIsChargedToIt() throws Exception {
    start(0, 16, 1);
    GatewayServer gateway = fixture.gateway();
    VirtualKeys.Created created =
        gateway
            .tenants()
            .keys()
            .create(
                new VirtualKey(
                    "",
                    "queue-app",
                    "",
                    "",
                    List.of(),
                    0,
                    0,
                    "normal",
                    0,
                    0,
                    null,
                    Map.of(),
                    Instant.EPOCH,
                    null));
    publish("no-key", chat("who am I"), 5, Map.of());
    publish("bad-key", chat("who am I"), 5, Map.of("authorization", "Bearer pk-not-a-key"));
    publish("good-key", chat("who am I"), 9, Map.of("authorization", "Bearer " + created.key()));
    Map<String, Reply> byId = new HashMap<>();
    for (Reply r : take(3)) {
      byId.put(r.correlationId(), r);
    }
    assertThat(byId.get("no-key").status()).isEqualTo(401);
    assertThat(byId.get("bad-key").status()).isEqualTo(401);
    assertThat(byId.get("bad-key").header("x-penstock-error-code")).isEqualTo("invalid_api_key");
    assertThat(byId.get("good-key").status())
        .as(byId.get("good-key").body().toString())
        .isEqualTo(200);
    awaitTrue(() -> ingress().messages("dead_lettered") == 2, "two dead-lettered");
    GetResponse dead = channel.basicGet(queue + ".dead", true);
    assertThat(dead).isNotNull();
    assertThat(header(dead, "x-penstock-error-code")).isEqualTo("invalid_api_key");
    // The key's secret is in the copy only where the publisher put it: the original headers.
    assertThat(header(dead, "x-penstock-error-message")).doesNotContain("pk-not-a-key");
  }

  @Test
  void aBrokerThatIsDownDoesNotStopTheGateway() throws Exception {
    int closedPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(0, 0, 0))
            .outputTokens(4)
            .seed(5)
            .addKey(KeySpec.of("up", KEY, 100_000, 100_000_000))
            .build();
    fixture =
        GatewayFixture.start(
            simulator,
            """
            listen: 127.0.0.1:0
            models:
              gpt-4o-mini:
                deployments:
                  - {name: up, base_url: "${MOCK}", api_key: "%s", rpm: 100000, tpm: 100000000}
            queues:
              rabbitmq: {url: "amqp://guest:secret-pw@127.0.0.1:%d", queue: %s}
            """
                .formatted(KEY, closedPort, queue));
    assertThat(fixture.post("/v1/chat/completions", chat("HTTP works"), Map.of()).statusCode())
        .isEqualTo(200);
    assertThat(fixture.get("/health/ready", Map.of()).statusCode()).isEqualTo(200);
    assertThat(ingress().connected()).isFalse();
    // queue, queue.dead: never declared; cleanUp's deletes are harmless.
  }

  // ---- helpers

  /**
   * Starts the simulator and a gateway consuming {@link #queue}; returns the gateway's YAML.
   *
   * @param latencyMillis the simulator's time to first token
   * @param prefetch the ingress's bound
   * @param concurrency the deployment's {@code max_concurrency}
   */
  private String start(long latencyMillis, int prefetch, int concurrency) {
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(latencyMillis, 0, 0))
            .outputTokens(4)
            .seed(5)
            .addKey(KeySpec.of("up", KEY, 100_000, 100_000_000))
            .build();
    String yaml =
        """
        listen: 127.0.0.1:0
        defaults:
          shutdown_grace_ms: 2000
        models:
          gpt-4o-mini:
            deployments:
              - {name: up, base_url: "${MOCK}", api_key: "%1$s", rpm: 100000, tpm: 100000000, max_concurrency: %4$d}
          text-embedding-3-small:
            deployments:
              - {name: emb, base_url: "${MOCK}", api_key: "%1$s", rpm: 100000, tpm: 100000000}
        queues:
          rabbitmq:
            url: amqp://guest:guest@127.0.0.1:5672
            queue: %2$s
            prefetch: %3$d
            timeout_ms: 60000
        """
            .formatted(KEY, queue, prefetch, concurrency);
    fixture = GatewayFixture.start(simulator, yaml);
    awaitTrue(() -> ingress().connected() && ingress().consuming(), "the ingress to consume");
    return yaml;
  }

  private RabbitIngress ingress() {
    return fixture.gateway().rabbit().orElseThrow();
  }

  private void publish(String id, String body, int priority, Map<String, Object> headers)
      throws IOException {
    AMQP.BasicProperties props =
        new AMQP.BasicProperties.Builder()
            .correlationId(id)
            .replyTo(replyQueue)
            .priority(priority)
            .contentType("application/json")
            .headers(new HashMap<>(headers))
            .build();
    channel.basicPublish("", queue, props, body.getBytes(StandardCharsets.UTF_8));
  }

  private void publishWithoutReplyTo(String id, String body) throws IOException {
    AMQP.BasicProperties props = new AMQP.BasicProperties.Builder().correlationId(id).build();
    channel.basicPublish("", queue, props, body.getBytes(StandardCharsets.UTF_8));
  }

  private List<Reply> take(int count) throws InterruptedException {
    List<Reply> got = new ArrayList<>();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (got.size() < count) {
      long left = deadline - System.nanoTime();
      assertThat(left).as("%d replies, got %s", count, got).isPositive();
      Reply r = replies.poll(left, TimeUnit.NANOSECONDS);
      if (r != null) {
        got.add(r);
      }
    }
    return got;
  }

  private int ready(String name) throws IOException {
    return channel.queueDeclarePassive(name).getMessageCount();
  }

  private static String header(GetResponse g, String name) {
    @Nullable Object v = g.getProps().getHeaders().get(name);
    return v == null ? "" : v.toString();
  }

  private static double meanRank(List<String> order, String prefix) {
    return java.util.stream.IntStream.range(0, order.size())
        .filter(i -> order.get(i).startsWith(prefix))
        .average()
        .orElseThrow();
  }

  private static int lastIndex(List<String> order, String prefix) {
    int last = -1;
    for (int i = 0; i < order.size(); i++) {
      if (order.get(i).startsWith(prefix)) {
        last = i;
      }
    }
    return last;
  }

  private static String chat(String prompt) {
    return "{\"model\": \"gpt-4o-mini\", \"messages\": [{\"role\": \"user\", \"content\": \""
        + prompt
        + "\"}]}";
  }

  private static void awaitTrue(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("waiting for " + what).isNegative();
      LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
    }
  }

  private static boolean rabbitAnswers() {
    try (Socket s = new Socket()) {
      s.connect(
          new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 5672), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
