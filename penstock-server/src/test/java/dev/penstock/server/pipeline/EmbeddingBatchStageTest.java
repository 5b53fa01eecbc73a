package dev.penstock.server.pipeline;

import static dev.penstock.server.pipeline.ScriptedUpstream.blocksUntilCancelled;
import static dev.penstock.server.pipeline.ScriptedUpstream.byBody;
import static dev.penstock.server.pipeline.ScriptedUpstream.held;
import static dev.penstock.server.pipeline.ScriptedUpstream.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.pipeline.PipelineHarness.Running;
import dev.penstock.server.telemetry.Outcome;
import dev.penstock.server.telemetry.RequestRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Embedding micro-batching through the whole pipeline, on fake time: requests that wait in a window
 * go upstream as one call, and each client gets exactly its own vectors and usage share — or, when
 * the merged call fails, its own copy of the failure; a client that leaves is dropped; a merged
 * request the upstream calls invalid is sent again member by member. Every test ends with every
 * reservation settled ({@link #everythingSettled}).
 */
class EmbeddingBatchStageTest {
  private static final String MODEL = "text-embedding-3-small";

  /** Window 20 ms, at most 6 inputs a batch; {@code solo} has no window. */
  private static final String YAML =
      """
      retry:
        attempts: 2
      embeddings:
        batch_window_ms: 20
        max_batch_inputs: 6
      models:
        text-embedding-3-small:
          deployments:
            - {name: a, base_url: "http://a.upstream.test/v1", api_key: sk-test-a, rpm: 1000000, tpm: 100000000, tpm_charge: usage}
            - {name: b, base_url: "http://b.upstream.test/v1", api_key: sk-test-b, rpm: 1000000, tpm: 100000000, tpm_charge: usage, priority: 1}
        solo:
          embeddings_batch_window_ms: 0
          deployments:
            - {name: s, base_url: "http://s.upstream.test/v1", api_key: sk-test-a, rpm: 1000000, tpm: 100000000}
      """;

  private static final String SERVER_ERROR =
      "{\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}";
  private static final String TOO_LONG =
      "{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens\","
          + "\"type\":\"invalid_request_error\",\"param\":\"input\",\"code\":null}}";

  private final PipelineHarness h = new PipelineHarness(YAML);

  @AfterEach
  void everythingSettled() {
    try {
      // A merged call whose members all left winds down on its own thread.
      PipelineHarness.await(() -> h.admissions.outstanding() == 0, "every reservation settled");
      h.assertSettled();
    } finally {
      h.close();
    }
  }

  // ---- merging and splitting

  @Test
  void concurrentRequestsGoUpstreamAsOneAndEachGetsItsOwnVectors() throws Exception {
    h.upstream.then(echo(30));
    RecordingExchange apple = embed("\"apple\"");
    RecordingExchange fruits = embed("[\"banana split with cream\",\"cherry\"]");
    RecordingExchange date = embed("\"date\"");

    List<Running> running = startAll(apple, fruits, date);
    assertThat(h.upstream.calls()).as("nothing is sent before the window ends").isEmpty();
    h.batchClock.advance(Duration.ofMillis(20));
    joinAll(running);

    assertThat(h.upstream.calls()).hasSize(1);
    JsonNode sent = parse(h.upstream.calls().get(0).body());
    assertThat(sent.path("model").asText()).isEqualTo(MODEL);
    assertThat(texts(sent.path("input")))
        .containsExactly("apple", "banana split with cream", "cherry", "date");
    assertThat(h.windowRequests("a")).as("one request charged to the deployment").isEqualTo(1);

    assertVectors(apple, "apple");
    assertVectors(fruits, "banana split with cream", "cherry");
    assertVectors(date, "date");
    for (RecordingExchange client : List.of(apple, fruits, date)) {
      JsonNode answer = client.json();
      assertThat(answer.path("object").asText()).isEqualTo("list");
      assertThat(answer.path("model").asText()).as("the upstream's").isEqualTo(MODEL + "-v2");
      assertThat(client.answerHeaders())
          .containsEntry("x-penstock-deployment", "a")
          .containsEntry("x-penstock-attempts", "1")
          .containsEntry("x-penstock-queue-ms", "20")
          .containsEntry("Content-Type", "application/json");
    }
    long[] shares = {prompt(apple), prompt(fruits), prompt(date)};
    assertThat(Arrays.stream(shares).sum()).as("the shares sum to the upstream's").isEqualTo(30);
    assertThat(Arrays.stream(shares).boxed().toList()).allMatch(s -> s > 0);
    assertThat(shares[1]).as("weighed by each request's own estimate").isGreaterThan(shares[0]);
    assertThat(fruits.json().path("usage").path("total_tokens").asLong()).isEqualTo(shares[1]);

    for (RequestRecord record : h.observer.completed()) {
      assertThat(record.outcome()).isEqualTo(Outcome.OK);
      assertThat(record.deployment()).isEqualTo("a");
      assertThat(record.attempts()).isEqualTo(1);
      assertThat(record.queueNanos()).isEqualTo(Duration.ofMillis(20).toNanos());
      assertThat(record.promptTokens()).isPositive();
    }
    assertThat(h.observer.completed().stream().mapToLong(RequestRecord::promptTokens).sum())
        .isEqualTo(30);
    assertThat(h.observer.events()).containsExactly("embedding batch " + MODEL + " 3");
  }

  @Test
  void textAndTokenInputsAreNotMergedWithEachOtherButEachKindIs() throws Exception {
    h.upstream.then(echo(10), echo(10));
    RecordingExchange text = embed("\"apple\"");
    RecordingExchange tokens = embed("[1,2,3]");
    RecordingExchange lists = embed("[[4,5],[6]]");

    List<Running> running = startAll(text, tokens, lists);
    h.batchClock.advance(Duration.ofMillis(20));
    drive(running);

    assertThat(h.upstream.calls()).hasSize(2);
    assertThat(h.upstream.calls().stream().map(c -> parse(c.body()).path("input").toString()))
        // Alone in its batch, the text request went as its client sent it.
        .containsExactlyInAnyOrder("\"apple\"", "[[1,2,3],[4,5],[6]]");
    assertThat(codes(text)).containsExactly((int) 'a');
    assertThat(codes(tokens)).containsExactly(1);
    assertThat(codes(lists)).containsExactly(4, 6);
  }

  @Test
  void requestsWithOtherParametersOrForAnotherUserAreNotMerged() throws Exception {
    h.upstream.then(echo(10), echo(10), echo(10));
    RecordingExchange plain = embed("\"apple\"");
    RecordingExchange smaller =
        RecordingExchange.of(
            "{\"model\":\"" + MODEL + "\",\"input\":\"banana\",\"dimensions\":256}");
    RecordingExchange user1 =
        RecordingExchange.of("{\"user\":\"u1\",\"model\":\"" + MODEL + "\",\"input\":\"cherry\"}");
    RecordingExchange user1Again =
        RecordingExchange.of("{\"model\":\"" + MODEL + "\",\"input\":\"date\",\"user\":\"u1\"}");

    List<Running> running = startAll(plain, smaller, user1, user1Again);
    h.batchClock.advance(Duration.ofMillis(20));
    drive(running);

    assertThat(h.upstream.calls().stream().map(c -> texts(parse(c.body()).path("input"))))
        .containsExactlyInAnyOrder(List.of("apple"), List.of("banana"), List.of("cherry", "date"));
    assertVectors(user1, "cherry");
    assertVectors(user1Again, "date");
  }

  // ---- clients that leave, and deadlines

  @Test
  void aClientThatLeavesBeforeTheSendHasItsInputLeftOut() throws Exception {
    h.upstream.then(echo(10));
    RecordingExchange apple = embed("\"apple\"");
    RecordingExchange gone = embed("\"banana\"");
    RecordingExchange cherry = embed("\"cherry\"");
    List<Running> running = startAll(apple, gone, cherry);

    gone.leave();
    h.watch.sweep();
    running.get(1).join();
    h.batchClock.advance(Duration.ofMillis(20));
    joinAll(running);

    assertThat(texts(parse(h.upstream.calls().get(0).body()).path("input")))
        .containsExactly("apple", "cherry");
    assertVectors(apple, "apple");
    assertVectors(cherry, "cherry");
    assertThat(gone.leftUnanswered()).isTrue();
    RequestRecord left = record("req_2");
    assertThat(left.outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(left.attempts()).isZero();
  }

  @Test
  void whenEveryClientLeavesBeforeTheSendNothingIsSent() throws Exception {
    RecordingExchange apple = embed("\"apple\"");
    RecordingExchange banana = embed("\"banana\"");
    List<Running> running = startAll(apple, banana);

    apple.leave();
    banana.leave();
    h.watch.sweep();
    joinAll(running);
    h.batchClock.advance(Duration.ofMillis(20));

    assertThat(h.upstream.calls()).isEmpty();
    assertThat(apple.leftUnanswered()).isTrue();
    assertThat(banana.leftUnanswered()).isTrue();

    // The next request opens a batch of its own, which is sent.
    h.upstream.then(echo(5));
    RecordingExchange cherry = embed("\"cherry\"");
    List<Running> next = startAll(cherry);
    h.batchClock.advance(Duration.ofMillis(20));
    joinAll(next);
    assertThat(h.upstream.calls()).hasSize(1);
    assertVectors(cherry, "cherry");
  }

  @Test
  void aClientThatLeavesAfterTheSendHoldsNoOneBackAndItsPartIsDropped() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    h.upstream.then(held(gate, echo(20)));
    RecordingExchange apple = embed("\"apple\"");
    RecordingExchange gone = embed("\"banana\"");
    List<Running> running = startAll(apple, gone);
    h.batchClock.advance(Duration.ofMillis(20));
    PipelineHarness.await(() -> h.upstream.calls().size() == 1, "the merged call is sent");

    gone.leave();
    h.watch.sweep();
    running.get(1).join();
    gate.countDown();
    running.get(0).join();

    assertVectors(apple, "apple");
    assertThat(prompt(apple)).isLessThan(20);
    assertThat(gone.leftUnanswered()).isTrue();
    assertThat(record("req_2").outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(record("req_1").outcome()).isEqualTo(Outcome.OK);
  }

  @Test
  void whenEveryClientLeavesAfterTheSendTheMergedCallIsLetGo() throws Exception {
    h.upstream.then(blocksUntilCancelled());
    RecordingExchange apple = embed("\"apple\"");
    RecordingExchange banana = embed("\"banana\"");
    List<Running> running = startAll(apple, banana);
    h.batchClock.advance(Duration.ofMillis(20));
    h.upstream.awaitBlocked();

    apple.leave();
    h.watch.sweep();
    running.get(0).join();
    banana.leave();
    h.watch.sweep();
    running.get(1).join();

    // The last one out cancels the merged call: its upstream read is aborted, its reservation
    // settled (checked after each test).
    PipelineHarness.await(() -> h.admissions.outstanding() == 0, "the merged call let go");
    assertThat(h.upstream.calls()).hasSize(1);
    assertThat(h.observer.completed())
        .extracting(RequestRecord::outcome)
        .containsOnly(Outcome.CLIENT_CLOSED);
  }

  @Test
  void aRequestWhoseDeadlinePassesWhileItsBatchIsServedGetsA429AndTheOthersTheirAnswers()
      throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    h.upstream.then(held(gate, echo(20)));
    RecordingExchange hurried = embed("\"apple\"").header("x-penstock-timeout-ms", "100");
    RecordingExchange patient = embed("\"banana\"");
    List<Running> running = startAll(hurried, patient);
    h.batchClock.advance(Duration.ofMillis(20));
    PipelineHarness.await(() -> h.upstream.calls().size() == 1, "the merged call is sent");

    h.batchClock.advance(Duration.ofMillis(80));
    running.get(0).join();
    gate.countDown();
    running.get(1).join();

    assertThat(hurried.status()).isEqualTo(429);
    assertThat(hurried.json().path("error").path("code").asText()).isEqualTo("penstock_overloaded");
    assertThat(record("req_1").rejectedReason()).isEqualTo("deadline");
    assertVectors(patient, "banana");
  }

  @Test
  void aRequestWhoseDeadlineFallsBeforeTheWindowEndsGoesAlone() {
    h.upstream.then(echo(3));
    RecordingExchange hurried = embed("\"apple\"").header("x-penstock-timeout-ms", "10");

    h.handle(Endpoint.EMBEDDINGS, hurried); // on this thread: it does not wait

    assertVectors(hurried, "apple");
    assertThat(h.upstream.calls().get(0).body()).contains("\"input\":\"apple\"");
    assertThat(h.observer.events()).isEmpty();
  }

  @Test
  void aStoppingGatewayEndsTheRequestsWaitingInAWindow() throws Exception {
    RecordingExchange apple = embed("\"apple\"");
    RecordingExchange banana = embed("\"banana\"");
    List<Running> running = startAll(apple, banana);

    h.watch.cancelAll(ProxyCall.SHUTTING_DOWN);
    joinAll(running);
    h.batchClock.advance(Duration.ofMillis(20));

    for (RecordingExchange client : List.of(apple, banana)) {
      assertThat(client.status()).isEqualTo(503);
      assertThat(client.json().path("error").path("code").asText()).isEqualTo("shutting_down");
    }
    assertThat(h.upstream.calls()).isEmpty();
  }

  // ---- failures of the merged call

  @Test
  void anUpstream400SendsEachRequestOnAloneSoOnlyTheBadOneFails() throws Exception {
    ScriptedUpstream.Answer byInput =
        byBody(body -> body.contains("BAD") ? json(400, TOO_LONG) : echoAnswer(body, 7));
    h.upstream.then(byInput, byInput, byInput, byInput);
    RecordingExchange apple = embed("\"apple\"");
    RecordingExchange bad = embed("\"BAD\"");
    RecordingExchange cherry = embed("\"cherry\"");

    List<Running> running = startAll(apple, bad, cherry);
    h.batchClock.advance(Duration.ofMillis(20));
    drive(running);

    assertThat(h.upstream.calls()).as("the merged call, then one each").hasSize(4);
    assertVectors(apple, "apple");
    assertVectors(cherry, "cherry");
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.text()).isEqualTo(TOO_LONG);
    assertThat(record("req_1").attempts()).as("its own attempt only").isEqualTo(1);
    assertThat(h.observer.events()).containsExactly("embedding batch " + MODEL + " 0");
  }

  @Test
  void anUpstream400ForABatchOfOneIsItsAnswer() throws Exception {
    h.upstream.then(json(400, TOO_LONG));
    RecordingExchange bad = embed("\"BAD\"");
    List<Running> running = startAll(bad);
    h.batchClock.advance(Duration.ofMillis(20));
    joinAll(running);

    assertThat(h.upstream.calls()).hasSize(1);
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.text()).isEqualTo(TOO_LONG);
    assertThat(record("req_1").outcome()).isEqualTo(Outcome.CLIENT_ERROR);
  }

  @Test
  void anUpstreamFailureAfterItsRetriesFailsEveryRequestWithIt() throws Exception {
    h.upstream.then(json(500, SERVER_ERROR), json(500, SERVER_ERROR));
    RecordingExchange apple = embed("\"apple\"");
    RecordingExchange banana = embed("\"banana\"");
    List<Running> running = startAll(apple, banana);
    h.batchClock.advance(Duration.ofMillis(20));
    drive(running);

    assertThat(h.upstream.deploymentsCalled()).containsExactly("a", "b");
    for (RecordingExchange client : List.of(apple, banana)) {
      assertThat(client.status()).isEqualTo(500);
      assertThat(client.text()).isEqualTo(SERVER_ERROR);
      assertThat(client.answerHeaders())
          .containsEntry("x-penstock-attempts", "2")
          .containsEntry("x-penstock-deployment", "b");
    }
    for (RequestRecord record : h.observer.completed()) {
      assertThat(record.outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
      assertThat(record.attempts()).isEqualTo(2);
    }
  }

  @Test
  void aMergedAnswerWithOtherVectorsThanAskedForFailsEveryRequestWith502() throws Exception {
    h.upstream.then(
        json(
            200,
            "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
                + "\"embedding\":[0.5]}],\"model\":\"m\",\"usage\":{\"prompt_tokens\":2,"
                + "\"total_tokens\":2}}"));
    RecordingExchange apple = embed("\"apple\"");
    RecordingExchange banana = embed("\"banana\"");
    List<Running> running = startAll(apple, banana);
    h.batchClock.advance(Duration.ofMillis(20));
    joinAll(running);

    for (RecordingExchange client : List.of(apple, banana)) {
      assertThat(client.status()).isEqualTo(502);
      assertThat(client.json().path("error").path("code").asText()).isEqualTo("upstream_malformed");
    }
  }

  // ---- closing, settings

  @Test
  void aFullBatchIsSentAtOnceAndOneThatWouldOverfillIsSentBeforeTheNextOpens() throws Exception {
    h.upstream.then(echo(6), echo(4), echo(3));
    RecordingExchange three = embed("[\"a1\",\"a2\",\"a3\"]");
    RecordingExchange threeMore = embed("[\"b1\",\"b2\",\"b3\"]");
    joinAll(startAll(three, threeMore)); // 6 inputs: full, sent without waiting for its window

    assertThat(h.upstream.calls()).hasSize(1);
    assertVectors(three, "a1", "a2", "a3");
    assertVectors(threeMore, "b1", "b2", "b3");
    assertThat(three.answerHeader("x-penstock-queue-ms")).isEqualTo("0");

    RecordingExchange four = embed("[\"c1\",\"c2\",\"c3\",\"c4\"]");
    Running first = startAll(four).getFirst();
    RecordingExchange three2 = embed("[\"d1\",\"d2\",\"d3\"]");
    Running second = h.start(Endpoint.EMBEDDINGS, three2);
    first.join(); // four + three would be 7: the batch of four went at once
    PipelineHarness.await(() -> h.batchClock.parked() == 1, "the next batch waits");
    drive(List.of(second));

    assertThat(h.upstream.calls().stream().map(c -> texts(parse(c.body()).path("input")).size()))
        .containsExactly(6, 4, 3);
    // Alone in its batch: the upstream's answer byte for byte, in the upstream's order.
    assertThat(four.json().path("data")).hasSize(4);
    assertThat(codes(four))
        .containsExactlyInAnyOrder(code("c1"), code("c2"), code("c3"), code("c4"));
    assertThat(codes(three2)).containsExactlyInAnyOrder(code("d1"), code("d2"), code("d3"));
  }

  @Test
  void aModelWithoutAWindowIsNotBatched() {
    h.upstream.then(echo(3));
    RecordingExchange client = RecordingExchange.of("{\"model\":\"solo\",\"input\":\"apple\"}");

    h.handle(Endpoint.EMBEDDINGS, client);

    assertThat(client.status()).isEqualTo(200);
    assertThat(h.upstream.calls().get(0).deployment()).isEqualTo("s");
    assertThat(h.upstream.calls().get(0).body()).contains("\"input\":\"apple\"");
  }

  @Test
  void aReloadTakesItsNewWindowForTheRequestsAfterIt() {
    h.pipeline.routing(
        RoutingTables.routing(
            new ConfigLoader(Map.<String, String>of()::get)
                .parse(YAML.replace("batch_window_ms: 20", "batch_window_ms: 0"), "t.yaml"),
            PipelineHarness.TOKENS));
    h.upstream.then(echo(3));
    RecordingExchange client = embed("\"apple\"");

    h.handle(Endpoint.EMBEDDINGS, client); // would wait for its window were batching on

    assertVectors(client, "apple");
  }

  // ---- helpers

  private static RecordingExchange embed(String input) {
    return RecordingExchange.of("{\"model\":\"" + MODEL + "\",\"input\":" + input + "}");
  }

  /** Starts each request on its own thread, in order, each waiting in its batch before the next. */
  private List<Running> startAll(RecordingExchange... clients) {
    List<Running> running = new ArrayList<>();
    for (RecordingExchange client : clients) {
      int before = h.batchClock.parked();
      long sent = h.upstream.calls().size();
      running.add(h.start(Endpoint.EMBEDDINGS, client));
      PipelineHarness.await(
          () -> h.batchClock.parked() > before || h.upstream.calls().size() > sent,
          "the request waits in its batch (or its full batch was sent)");
    }
    return running;
  }

  private static void joinAll(List<Running> running) throws InterruptedException {
    for (Running r : running) {
      r.join();
    }
  }

  /**
   * Serves the requests to their end, moving fake time on in 1 ms steps (dispatching each time), so
   * that the second of two calls at one instant — paced by its deployment — and retries start.
   */
  private void drive(List<Running> running) throws InterruptedException {
    long deadline = System.nanoTime() + PipelineHarness.BOUND.toNanos();
    for (Running r : running) {
      while (r.thread().isAlive() && System.nanoTime() < deadline) {
        h.batchClock.advance(Duration.ofMillis(1));
        h.dispatchNow();
        r.thread().join(Duration.ofMillis(1));
      }
      r.join();
    }
  }

  private RequestRecord record(String id) {
    return h.observer.completed().stream()
        .filter(r -> r.requestId().equals(id))
        .findFirst()
        .orElseThrow();
  }

  private static long prompt(RecordingExchange client) {
    return client.json().path("usage").path("prompt_tokens").asLong();
  }

  /** The client got one vector per input, in order, each the vector of that input. */
  private static void assertVectors(RecordingExchange client, String... inputs) {
    assertThat(client.status()).as(client.text()).isEqualTo(200);
    JsonNode data = client.json().path("data");
    assertThat(data).hasSize(inputs.length);
    for (int i = 0; i < inputs.length; i++) {
      assertThat(data.get(i).path("index").asInt()).isEqualTo(i);
      assertThat(data.get(i).path("embedding").get(0).asInt()).isEqualTo(code(inputs[i]));
      assertThat(data.get(i).path("embedding").get(1).asInt())
          .as("the vector of " + inputs[i])
          .isEqualTo(inputs[i].hashCode() & 0xffff);
    }
  }

  /** The first number of each vector the client got. */
  private static List<Integer> codes(RecordingExchange client) {
    List<Integer> codes = new ArrayList<>();
    client.json().path("data").forEach(d -> codes.add(d.path("embedding").get(0).asInt()));
    return codes;
  }

  private static int code(String text) {
    return text.codePointAt(0);
  }

  /**
   * An upstream that embeds what it is sent: a vector per input of {@code [first character or
   * token, hash of the text]}, listed in reverse order (the split must go by index), with {@code
   * promptTokens} as the whole call's usage.
   */
  private static ScriptedUpstream.Answer echo(long promptTokens) {
    return byBody(body -> echoAnswer(body, promptTokens));
  }

  private static ScriptedUpstream.Answer echoAnswer(String body, long promptTokens) {
    JsonNode input = parse(body).path("input");
    List<JsonNode> items = new ArrayList<>();
    if (input.isTextual() || input.get(0).isNumber()) {
      items.add(input);
    } else {
      input.forEach(items::add);
    }
    List<String> data = new ArrayList<>();
    for (int i = items.size() - 1; i >= 0; i--) {
      JsonNode item = items.get(i);
      int first = item.isTextual() ? code(item.asText()) : item.get(0).asInt();
      int hash = item.isTextual() ? item.asText().hashCode() & 0xffff : 0;
      data.add(
          "{\"object\": \"embedding\", \"index\": "
              + i
              + ", \"embedding\": ["
              + first
              + ", "
              + hash
              + "]}");
    }
    return json(
        200,
        "{\"object\": \"list\", \"data\": ["
            + String.join(", ", data)
            + "], \"model\": \""
            + MODEL
            + "-v2\", \"usage\": {\"prompt_tokens\": "
            + promptTokens
            + ", \"total_tokens\": "
            + promptTokens
            + "}}");
  }

  private static List<String> texts(JsonNode input) {
    List<String> texts = new ArrayList<>();
    if (input.isTextual()) {
      texts.add(input.asText()); // a request alone in its batch goes as its client sent it
    } else {
      input.forEach(one -> texts.add(one.asText()));
    }
    return texts;
  }

  private static JsonNode parse(String json) {
    try {
      return RequestReader.JSON.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
