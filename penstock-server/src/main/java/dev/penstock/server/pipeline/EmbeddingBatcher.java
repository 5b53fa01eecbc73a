package dev.penstock.server.pipeline;

import dev.penstock.core.CancelSignal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design
 *
 * Batches. Embedding requests that may be merged (the same EmbeddingInput.Key) join the open batch
 * of their key, or open one. A batch closes when its window ends — an alarm set when it opened —
 * or at once when it is full (max_batch_inputs, or MAX_BATCH_TOKENS of estimated prompt); a
 * request that would overfill it closes it and opens the next. A closed batch is handed to the
 * Sender on a thread of its own (the alarm's, or a new one): it takes the members still there,
 * sends one merged request and says what each member gets (a Part); the batcher hands each member
 * its part and unparks it.
 *
 * Members. Each member's own request thread parks until its part comes, its client leaves (its
 * CancelSignal unparks it) or its deadline passes. A member that leaves before its batch is taken
 * is removed — its input is not sent; if it was the last, the batch is dropped and nothing is
 * sent. A member that leaves after is only marked: its part will be discarded. When the last
 * member of a taken batch leaves, the batch's allLeft signal fires, which the Sender wired to the
 * merged call's own cancel: nobody wants the answer, so its wait for capacity or its upstream read
 * is let go, as a single client's would be.
 *
 * A member joins only when its deadline is after its batch's close; afterwards its wait is bounded
 * by that deadline and its cancel signal, so no member waits on a batch forever.
 *
 * Locking: one ReentrantLock guards the open batches and every batch's and member's state; it is
 * held for list operations only, never while a thread is unparked, a signal fires or anything is
 * sent.
 */

/**
 * Groups concurrent embedding requests into batches and hands each member its part of the merged
 * answer. Thread-safe: members join and wait on their own request threads; batches are sent on
 * threads the {@link BatchClock} starts.
 */
final class EmbeddingBatcher {
  /**
   * The most estimated prompt tokens in one merged request: OpenAI's limit for the inputs of one
   * embeddings request together.
   */
  static final long MAX_BATCH_TOKENS = 300_000;

  /** What the merged call's answer was for one member. */
  sealed interface Part {
    /** The member's own answer ({@code status} 2xx) and its share of the prompt tokens. */
    @SuppressWarnings("ArrayRecordComponent") // a carrier, never compared
    record Answer(int status, byte[] body, long promptTokens, Served served) implements Part {}

    /** The merged call ended with an error: the member's own copy, thrown on its thread. */
    record Failed(RuntimeException error, Served served) implements Part {}

    /** The upstream's answer was an error to pass through as it is, to every member. */
    @SuppressWarnings("ArrayRecordComponent") // a carrier, never compared
    record PassThrough(int status, byte[] body, Served served) implements Part {}

    /** The upstream refused the merged request as invalid: the member is sent on alone. */
    record Alone() implements Part {}

    /** The member's client left (or the gateway ended it) before its part came. */
    record Left() implements Part {}

    /** The member's deadline passed before its part came. */
    record Late() implements Part {}
  }

  /**
   * How the merged call went, for each member's record and answer headers.
   *
   * @param sentNanos when the batch was taken to be sent: its members waited until then
   * @param rejected the merged call's refusal for capacity ({@code deadline}, ...), or null
   */
  record Served(
      int attempts,
      String deployment,
      long sentNanos,
      long queueNanos,
      long upstreamNanos,
      Map<String, String> upstreamHeaders,
      @Nullable String rejected) {
    Served {
      upstreamHeaders = Map.copyOf(upstreamHeaders);
    }
  }

  /** Sends a batch's merged request and says what each member gets. */
  @FunctionalInterface
  interface Sender {
    /**
     * Called on a thread of its own, once per batch sent, with its members (at least one).
     *
     * @param allLeft fires when every member has left: the merged call is to be let go
     * @return one part per member, in order
     */
    List<Part> send(List<Member> members, CancelSignal allLeft);
  }

  /** A request waiting in a batch. */
  static final class Member {
    private final ProxyCall call;
    private final EmbeddingInput input;
    private final Batch batch;
    private final Thread thread;
    private final long joinedNanos;
    // Set once, under lock; read without it by the member's thread.
    private volatile @Nullable Part part;
    // Guarded by lock.
    private boolean left;

    private Member(ProxyCall call, EmbeddingInput input, Batch batch, long joinedNanos) {
      this.call = call;
      this.input = input;
      this.batch = batch;
      this.thread = Thread.currentThread();
      this.joinedNanos = joinedNanos;
    }

    ProxyCall call() {
      return call;
    }

    EmbeddingInput input() {
      return input;
    }

    /** When it joined (ticker nanos): its wait in the window counts from here. */
    long joinedNanos() {
      return joinedNanos;
    }
  }

  private enum State {
    /** Taking members. */
    OPEN,
    /** Closed, waiting for its sender, which takes the members still there. */
    CLOSED,
    /** Taken: its members are being served. */
    TAKEN
  }

  /** One batch: the members of one key that arrived within one window. */
  private static final class Batch {
    final EmbeddingInput.Key key;
    final long closeAtNanos;
    final int maxInputs;
    final CancelSignal allLeft = new CancelSignal();
    // Guarded by lock.
    final List<Member> members = new ArrayList<>();
    State state = State.OPEN;
    int inputs;
    long tokens;
    int live;

    Batch(EmbeddingInput.Key key, long closeAtNanos, int maxInputs) {
      this.key = key;
      this.closeAtNanos = closeAtNanos;
      this.maxInputs = maxInputs;
    }

    boolean fits(EmbeddingInput input) {
      return inputs + input.size() <= maxInputs
          && tokens + input.estimatedTokens() <= MAX_BATCH_TOKENS;
    }

    boolean full() {
      return inputs >= maxInputs || tokens >= MAX_BATCH_TOKENS;
    }
  }

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddingBatcher.class);

  private final ReentrantLock lock = new ReentrantLock();
  // Guarded by lock: the open batch of each key.
  private final Map<EmbeddingInput.Key, Batch> open = new HashMap<>();
  private final BatchClock clock;
  private final Sender sender;

  EmbeddingBatcher(BatchClock clock, Sender sender) {
    this.clock = clock;
    this.sender = sender;
  }

  /**
   * Adds the request to the open batch of its key, or opens one that closes {@code windowNanos}
   * from now. Returns null when it is to go alone: it fills a batch by itself, or its deadline
   * falls before the batch would close.
   */
  @Nullable Member join(ProxyCall call, EmbeddingInput input, long windowNanos, int maxInputs) {
    if (input.size() >= maxInputs || input.estimatedTokens() >= MAX_BATCH_TOKENS) {
      return null;
    }
    long now = clock.nanos();
    Batch overfilled = null;
    Batch opened = null;
    Batch filled = null;
    Member member = null;
    lock.lock();
    try {
      Batch batch = open.get(input.key());
      if (batch != null && !batch.fits(input)) {
        close(batch);
        overfilled = batch;
        batch = null;
      }
      long closeAt = batch != null ? batch.closeAtNanos : now + windowNanos;
      if (call.deadlineNanos() > closeAt) {
        if (batch == null) {
          batch = new Batch(input.key(), closeAt, maxInputs);
          open.put(input.key(), batch);
          opened = batch;
        }
        member = new Member(call, input, batch, now);
        batch.members.add(member);
        batch.inputs += input.size();
        batch.tokens += input.estimatedTokens();
        batch.live++;
        if (batch.full()) {
          close(batch);
          filled = batch;
        }
      }
    } finally {
      lock.unlock();
    }
    if (overfilled != null) {
      Batch b = overfilled;
      clock.at(now, () -> send(b));
    }
    if (filled != null) {
      Batch b = filled;
      clock.at(now, () -> send(b));
    } else if (opened != null) {
      Batch b = opened;
      clock.at(b.closeAtNanos, () -> closeAndSend(b));
    }
    return member;
  }

  /** Closes an open batch: it takes no one else. Under lock. */
  private void close(Batch batch) {
    batch.state = State.CLOSED;
    open.remove(batch.key, batch);
  }

  /** The window ended: closes the batch unless it closed already (full, or empty), and sends it. */
  private void closeAndSend(Batch batch) {
    lock.lock();
    try {
      if (batch.state != State.OPEN) {
        return;
      }
      close(batch);
    } finally {
      lock.unlock();
    }
    send(batch);
  }

  /** Takes the members still there and has the sender serve them; hands out their parts. */
  private void send(Batch batch) {
    List<Member> members;
    lock.lock();
    try {
      if (batch.state != State.CLOSED) {
        return;
      }
      batch.state = State.TAKEN;
      members = List.copyOf(batch.members);
    } finally {
      lock.unlock();
    }
    if (members.isEmpty()) {
      return; // everyone left before it was sent
    }
    List<Part> parts;
    try {
      parts = sender.send(members, batch.allLeft);
    } catch (RuntimeException | Error e) {
      // A bug: the members still get an answer, not a wait until their deadline.
      LOG.error("an embedding batch failed unexpectedly", e);
      Served none = new Served(0, "", clock.nanos(), 0, 0, Map.of(), null);
      parts = new ArrayList<>();
      for (int i = 0; i < members.size(); i++) {
        parts.add(new Part.Failed(ErrorResponses.ofProtocol(500), none));
      }
    }
    deliver(members, parts);
  }

  private void deliver(List<Member> members, List<Part> parts) {
    List<Thread> wake = new ArrayList<>(members.size());
    lock.lock();
    try {
      for (int i = 0; i < members.size(); i++) {
        Member m = members.get(i);
        if (!m.left) {
          m.part = parts.get(i);
          wake.add(m.thread);
        }
      }
    } finally {
      lock.unlock();
    }
    wake.forEach(LockSupport::unpark);
  }

  /**
   * Waits on the member's own thread until its part comes, its client leaves ({@link Part.Left}) or
   * its deadline passes ({@link Part.Late}); a member that leaves is out of its batch.
   *
   * @throws InterruptedException after leaving the batch, when the thread is interrupted
   */
  Part await(Member member) throws InterruptedException {
    CancelSignal cancel = member.call.cancel();
    long deadline = member.call.deadlineNanos();
    CancelSignal.Registration wake = cancel.onCancel(() -> LockSupport.unpark(member.thread));
    try {
      while (true) {
        Part part = member.part;
        if (part != null) {
          return part;
        }
        if (cancel.cancelled()) {
          return leave(member, new Part.Left(), cancel.reason());
        }
        if (clock.nanos() >= deadline) {
          return leave(member, new Part.Late(), "deadline");
        }
        clock.parkUntil(member, deadline);
        if (Thread.interrupted()) {
          leave(member, new Part.Left(), ProxyCall.SHUTTING_DOWN);
          throw new InterruptedException("gave up waiting for an embedding batch");
        }
      }
    } finally {
      wake.close();
    }
  }

  /**
   * Takes the member out of its batch (or, once the batch was taken, marks it gone) and returns
   * {@code why} — or the member's part, when that came first.
   */
  private Part leave(Member member, Part why, String reason) {
    Batch batch = member.batch;
    boolean lastLeft = false;
    lock.lock();
    try {
      Part part = member.part;
      if (part != null) {
        return part;
      }
      member.left = true;
      batch.live--;
      if (batch.state == State.TAKEN) {
        lastLeft = batch.live == 0;
      } else {
        batch.members.remove(member);
        batch.inputs -= member.input.size();
        batch.tokens -= member.input.estimatedTokens();
        if (batch.members.isEmpty() && batch.state == State.OPEN) {
          close(batch); // nothing to send; the alarm finds it closed and sends nothing
        }
      }
    } finally {
      lock.unlock();
    }
    if (lastLeft) {
      batch.allLeft.cancel(reason);
    }
    return why;
  }

  /** How many batches are open (taking members) now; for tests. */
  int openBatches() {
    lock.lock();
    try {
      return open.size();
    } finally {
      lock.unlock();
    }
  }
}
