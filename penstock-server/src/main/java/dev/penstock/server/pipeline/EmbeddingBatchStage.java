package dev.penstock.server.pipeline;

import dev.penstock.core.Admission;
import dev.penstock.core.CancelSignal;
import dev.penstock.core.queue.Priority;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.OpenAiRequest;
import dev.penstock.server.pipeline.EmbeddingBatcher.Member;
import dev.penstock.server.pipeline.EmbeddingBatcher.Part;
import dev.penstock.server.pipeline.EmbeddingBatcher.Served;
import dev.penstock.server.telemetry.Outcome;
import dev.penstock.server.telemetry.RequestObserver;
import dev.penstock.server.telemetry.RequestRecord;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Embedding micro-batching (SPEC 6, docs/embeddings.md): concurrent {@code /v1/embeddings} requests
 * that may be merged ({@link EmbeddingInput}) and arrive within their model's window are sent
 * upstream as one request with an array input — one admission, one reservation, one upstream call —
 * and each gets exactly its own vectors back, with its share of the usage.
 *
 * <p>Each request stays on its own thread, inside every stage before this one: it waits in its
 * {@link EmbeddingBatcher batch} and then answers its own client from its part — so its answer
 * headers, record, access log line, key charge and cost are its own. The merged call runs on a
 * thread of its own through the {@link UpstreamStage} itself, as a {@link ProxyCall} with its own
 * record and a {@link CapturedExchange}: admission (the members' highest priority, their latest
 * deadline), retries, failover and settlement are the upstream stage's, exactly once.
 *
 * <p>How the merged call ended decides each member's answer:
 *
 * <pre>
 * 2xx ──────────────────────► each member its own vectors (index from 0) and usage share
 * 400/413/422, or refused as
 *   too large (2+ members) ─► each member sent on alone, so only a bad input gets its 400
 * another upstream status ──► that answer, to every member
 * an error (5xx after its
 *   retries, 429, deadline) ► that error, to every member, thrown on the member's own thread
 * </pre>
 *
 * <p>Placed after the client watch, so that a member whose client leaves while it waits is noticed
 * and dropped; the merged call itself is let go when its last member leaves.
 */
final class EmbeddingBatchStage implements Stage {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddingBatchStage.class);

  /** The end of the merged call's chain: the upstream stage answers, it never proceeds. */
  private static final Chain END = new Chain(List.of(), 0);

  private final Stage upstream;
  private final RequestObserver observer;
  private final BatchClock clock;
  private final EmbeddingBatcher batcher;

  /**
   * @param upstream the stage that sends merged calls (the upstream stage)
   * @param observer told of each merged call sent
   */
  EmbeddingBatchStage(Stage upstream, RequestObserver observer, BatchClock clock) {
    this.upstream = upstream;
    this.observer = observer;
    this.clock = clock;
    this.batcher = new EmbeddingBatcher(clock, this::send);
  }

  @Override
  public void serve(ProxyCall call, Chain chain) throws InterruptedException {
    Member member = join(call);
    if (member == null) {
      chain.proceed(call);
      return;
    }
    switch (batcher.await(member)) {
      case Part.Alone a -> chain.proceed(call);
      case Part.Answer a -> {
        served(call, member, a.served());
        answer(call, a);
      }
      case Part.PassThrough p -> {
        served(call, member, p.served());
        passThrough(call, p);
      }
      case Part.Failed f -> {
        served(call, member, f.served());
        throw f.error();
      }
      case Part.Left l ->
          throw call.shutDown()
              ? ErrorResponses.shuttingDown()
              : new ClientGone(call.cancel().reason());
      case Part.Late l -> {
        Pipeline.rejected(call.record(), Admission.Reason.OVERLOADED);
        throw ErrorResponses.of(
            new Admission.Rejected(
                Admission.Reason.OVERLOADED,
                0,
                "The request's deadline passed while its embedding batch was being served."));
      }
    }
  }

  /** The request's batch, or null when it goes alone. */
  private @Nullable Member join(ProxyCall call) {
    if (call.endpoint() != Endpoint.EMBEDDINGS || call.request().stream()) {
      return null;
    }
    EmbeddingBatching batching = call.routing().embeddings();
    long window = batching.windowNanos(call.request().model());
    if (window <= 0) {
      return null;
    }
    EmbeddingInput input = EmbeddingInput.of(call.request());
    return input == null ? null : batcher.join(call, input, window, batching.maxBatchInputs());
  }

  // ---- the member's side: its own answer, on its own thread

  private static void answer(ProxyCall call, Part.Answer a) {
    if (a.promptTokens() >= 0) {
      call.record().usage(a.promptTokens(), 0);
    }
    try {
      call.exchange().send(a.status(), call.answerHeaders(), a.body());
    } catch (UncheckedIOException clientGone) {
      call.cancel().cancel("client_closed"); // no-op if the watcher saw it first
      throw new ClientGone(call.cancel().reason());
    }
  }

  private static void passThrough(ProxyCall call, Part.PassThrough p) {
    Failure passed = new Failure(p.status(), p.body());
    call.record()
        .failed(
            p.status() < 500 ? Outcome.CLIENT_ERROR : Outcome.UPSTREAM_ERROR,
            passed.code(),
            passed.message());
    try {
      call.exchange().send(p.status(), call.answerHeaders(), p.body());
    } catch (UncheckedIOException clientGone) {
      call.cancel().cancel("client_closed");
      throw new ClientGone(call.cancel().reason());
    }
  }

  /** The merged call's attempts, waits and upstream time become the member's own. */
  private static void served(ProxyCall call, Member member, Served served) {
    call.waited(served.sentNanos() - member.joinedNanos()); // the window
    call.servedBy(
        served.attempts(), served.deployment(), served.queueNanos(), served.upstreamHeaders());
    call.record().addUpstreamNanos(served.upstreamNanos());
    if (served.rejected() != null) {
      call.record().rejected(served.rejected());
    }
  }

  // ---- the merged call, on a thread of its own

  /** Sends the members' merged request through the upstream stage; says what each member gets. */
  private List<Part> send(List<Member> members, CancelSignal allLeft) {
    long sentNanos = clock.nanos();
    List<EmbeddingInput> inputs = members.stream().map(Member::input).toList();
    // A batch of one (nobody else came within the window) is the request as its client sent it,
    // and its answer goes back byte for byte (SPEC 2): nothing to merge, nothing to split.
    byte[] body =
        members.size() == 1
            ? members.getFirst().call().request().body()
            : EmbeddingInput.merge(inputs);
    ProxyCall merged = mergedCall(members, body);
    CapturedExchange captured = (CapturedExchange) merged.exchange();
    List<Part> parts;
    CancelSignal.Registration letGo =
        allLeft.onCancel(() -> merged.cancel().cancel(allLeft.reason()));
    try {
      upstream.serve(merged, END);
      parts = answered(members, captured, served(merged, sentNanos));
    } catch (UpstreamFailure e) {
      Served served = served(merged, sentNanos);
      parts = same(members, m -> new Part.Failed(new UpstreamFailure(e.failure), served));
    } catch (ApiError e) {
      Served served = served(merged, sentNanos);
      parts =
          e.status() == 400 && members.size() > 1
              ? same(members, m -> new Part.Alone()) // a refusal as too large: alone they may fit
              : same(members, m -> new Part.Failed(copy(e), served));
    } catch (ClientGone e) {
      // Every member left; should one still wait (a bug), it gets an answer all the same.
      Served served = served(merged, sentNanos);
      parts = same(members, m -> new Part.Failed(noAnswer(), served));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      Served served = served(merged, sentNanos);
      parts = same(members, m -> new Part.Failed(ErrorResponses.shuttingDown(), served));
    } finally {
      letGo.close();
    }
    if (merged.attempts() > 0) {
      boolean alone = parts.getFirst() instanceof Part.Alone;
      observer.embeddingBatch(merged.request().model(), alone ? 0 : members.size());
    }
    return parts;
  }

  /** The merged call: one request for all members, as urgent as the most urgent of them. */
  private ProxyCall mergedCall(List<Member> members, byte[] body) {
    ProxyCall first = members.getFirst().call();
    long tokens = 0;
    long deadline = Long.MIN_VALUE;
    Priority priority = Priority.LOW;
    String tenant = first.tenant();
    for (Member m : members) {
      ProxyCall c = m.call();
      tokens += m.input().estimatedTokens();
      deadline = Math.max(deadline, c.deadlineNanos());
      priority = c.priority().compareTo(priority) < 0 ? c.priority() : priority;
      if (!tenant.equals(c.tenant())) {
        tenant = "embedding_batch"; // callers of several tenants: fair to none in particular
      }
    }
    String id = "batch_" + Pipeline.newRequestId().substring("req_".length());
    long now = clock.nanos();
    ProxyCall merged =
        new ProxyCall(
            id,
            Endpoint.EMBEDDINGS,
            new CapturedExchange(body),
            new RequestRecord(id, "/v1/embeddings", now, 0),
            first.routing(),
            now);
    merged.request(
        new OpenAiRequest(
            Endpoint.EMBEDDINGS, first.request().model(), false, true, tokens, 0, body, false));
    merged.caller(tenant, priority);
    merged.deadlineNanos(deadline);
    return merged;
  }

  /** What each member gets from the merged call's answer. */
  private static List<Part> answered(
      List<Member> members, CapturedExchange captured, Served served) {
    int status = captured.status();
    if (status >= 200 && status < 300 && members.size() == 1) {
      byte[] answer = captured.answer();
      return List.of(new Part.Answer(status, answer, promptTokens(answer), served));
    }
    if (status >= 200 && status < 300) {
      return split(members, status, captured.answer(), served);
    }
    if (status == 0) {
      return same(members, m -> new Part.Failed(noAnswer(), served));
    }
    if (members.size() > 1 && (status == 400 || status == 413 || status == 422)) {
      // One member's input may be bad (too long, empty): alone, only that one gets its error.
      return same(members, m -> new Part.Alone());
    }
    byte[] body = captured.answer();
    return same(members, m -> new Part.PassThrough(status, body, served));
  }

  /** The prompt tokens an answer reports, or -1 when it says none. */
  private static long promptTokens(byte[] answer) {
    try {
      return dev.penstock.server.openai.Usage.of(
              dev.penstock.server.openai.RequestReader.JSON.readTree(answer).path("usage"))
          .promptTokens();
    } catch (java.io.IOException e) {
      return -1;
    }
  }

  /** Each member's own vectors and usage share; a malformed merged answer fails them all. */
  private static List<Part> split(List<Member> members, int status, byte[] answer, Served served) {
    int total = members.stream().mapToInt(m -> m.input().size()).sum();
    EmbeddingSplit split = EmbeddingSplit.parse(answer, total);
    if (split == null) {
      return same(
          members,
          m ->
              new Part.Failed(
                  new UpstreamFailure(
                      Failure.of(
                          Relay.upstreamError(
                              502,
                              "upstream_malformed",
                              "The upstream of deployment "
                                  + served.deployment()
                                  + " answered a merged embeddings request with other vectors"
                                  + " than were asked for."))),
                  served));
    }
    long[] weights = members.stream().mapToLong(m -> m.input().estimatedTokens()).toArray();
    long[] prompt = EmbeddingSplit.shares(Math.max(0, split.promptTokens()), weights);
    long[] totals = EmbeddingSplit.shares(Math.max(0, split.totalTokens()), weights);
    List<Part> parts = new ArrayList<>(members.size());
    int from = 0;
    for (int i = 0; i < members.size(); i++) {
      int count = members.get(i).input().size();
      parts.add(
          new Part.Answer(
              status,
              split.part(from, count, prompt[i], totals[i]),
              split.promptTokens() >= 0 ? prompt[i] : -1,
              served));
      from += count;
    }
    return parts;
  }

  private static Served served(ProxyCall merged, long sentNanos) {
    RequestRecord r = merged.record();
    return new Served(
        merged.attempts(),
        r.deployment(),
        sentNanos,
        r.queueNanos(),
        r.upstreamNanos(),
        merged.upstreamHeaders(),
        r.rejectedReason());
  }

  private static List<Part> same(List<Member> members, Function<Member, Part> part) {
    return members.stream().map(part).toList();
  }

  /** The member's own copy of the merged call's error (an exception is thrown on one thread). */
  private static ApiError copy(ApiError e) {
    return new ApiError(
        e.status(),
        e.type(),
        java.util.Objects.requireNonNullElse(e.getMessage(), ""),
        e.param(),
        e.code(),
        e.retryAfterMillis());
  }

  private static UpstreamFailure noAnswer() {
    LOG.debug("a merged embeddings call ended without an answer");
    return new UpstreamFailure(
        Failure.of(
            Relay.upstreamError(
                502, "upstream_error", "The merged embeddings request ended without an answer.")));
  }
}
