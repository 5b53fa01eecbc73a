package dev.penstock.server.batch;

import dev.penstock.server.config.GatewayConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes batches: claims their lines from the {@link BatchStore}, runs each on a virtual thread
 * of its own through a {@link LineExecutor}, stores each result in the transaction that marks its
 * line done or failed, and finalizes a batch whose lines all ended — its output and error files,
 * then {@code completed}, {@code cancelled} or {@code expired}.
 *
 * <p>One loop thread does all the claiming and every status change; it runs when {@link #wake} is
 * called (a batch started or cancelled), when a line ends, and at least once a second (retries
 * whose time came, completion windows that ended). Per batch at most {@code batches.concurrency}
 * lines are in flight, over all batches at most {@code batches.max_concurrency}; older batches
 * claim first.
 *
 * <p>Durability: a line is claimed with a token of its own claim and an expiry; its result is
 * written only while that claim holds. On a single node a starting runner first gives every claim
 * back ({@link BatchStore#releaseAllClaims}) — the lines in flight when the previous process died
 * run again, at most {@code concurrency} per batch — and then resumes every unfinished batch where
 * it stood. On shared storage (cluster mode) it gives none back: the claims may be other live
 * instances'; a dead instance's lines are claimed again by any instance once their claims expire.
 * Every claim this runner takes is completed or released exactly once, on every path: the line's
 * result, a retry, an exception, {@link #close}.
 *
 * <p>Retries: a line that found no room ({@link LineOutcome.NoCapacity}) is released to run again
 * after the answer's {@code Retry-After} (else a second), uncounted. A line the upstreams failed
 * ({@link LineOutcome.ServerError}) runs again after a backoff, at most {@link #LINE_ATTEMPTS}
 * times in this process, then fails with {@code attempts_exhausted}. (That count is in memory: a
 * restart starts it again, which bounds the extra tries by the restarts.)
 *
 * <p>Ends: a batch past its {@code expires_at} claims no more lines; its pending lines fail with
 * {@code batch_expired}, the lines in flight finish, and it ends {@code expired}. A {@code
 * cancelling} batch likewise, with {@code batch_cancelled}, ends {@code cancelled} (also one with
 * no lines at all, cancelled while validating). A batch found {@code finalizing} (a restart while
 * it was) is finalized again: the files' ids derive from the batch's and are written atomically, so
 * it writes the same files whole. Which end a finalizing batch comes to is read from the store, so
 * a restart cannot change it: {@code cancelled} when it has a {@code cancelling_at}; else {@code
 * expired} when one of its error lines is {@code batch_expired}; else {@code completed} (also when
 * every line failed: then with an error file only).
 *
 * <p>Several instances (shared storage): each runs the lines it has room for, of any batch; the
 * store's conditional changes make the rest safe — one instance moves a batch to {@code finalizing}
 * ({@link BatchStore#transition}), one {@link BatchStore#finish}es it. A batch another instance
 * moved to {@code finalizing} is left to it for {@code claim_ms}, then finalized here too (that
 * instance may have died): the files are the same, written whole, and only one finish counts.
 */
public final class BatchRunner implements AutoCloseable {
  /** How many times a line the upstreams failed ({@code 5xx}) is tried before it fails. */
  public static final int LINE_ATTEMPTS = 3;

  private static final Logger LOG = LoggerFactory.getLogger(BatchRunner.class);
  private static final long POLL_MILLIS = 1_000;
  private static final long WINDOW_MILLIS = 60_000;
  private static final long MAX_BACKOFF_MILLIS = 60_000;
  private static final Duration CLOSE_BOUND = Duration.ofSeconds(30);

  private final BatchStore store;
  private final FileStore files;
  private final LineExecutor executor;
  private final GatewayConfig.Batches settings;
  private final Clock clock;
  private final boolean shared;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  // Guarded by lock:
  private boolean woken;
  private final Map<String, Integer> inFlight = new HashMap<>();
  private int totalInFlight;
  private final Set<Claim> claims = new LinkedHashSet<>();
  private final Map<String, Integer> serverErrors = new HashMap<>();
  private final Map<String, ArrayDeque<Long>> ended = new HashMap<>();
  private final Map<String, Long> firstSeen = new HashMap<>();

  private final java.util.concurrent.atomic.LongAdder linesDone =
      new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder linesFailed =
      new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder linesRetried =
      new java.util.concurrent.atomic.LongAdder();

  private volatile java.util.function.Consumer<BatchRecord> revalidate = batch -> {};
  private volatile boolean closing;
  private volatile boolean crashed;
  private @Nullable Thread loop;

  public BatchRunner(
      BatchStore store,
      FileStore files,
      LineExecutor executor,
      GatewayConfig.Batches settings,
      Clock clock) {
    this(store, files, executor, settings, clock, false);
  }

  /**
   * @param shared whether other instances use the same store (cluster mode): then this runner never
   *     gives back claims it did not take
   */
  public BatchRunner(
      BatchStore store,
      FileStore files,
      LineExecutor executor,
      GatewayConfig.Batches settings,
      Clock clock,
      boolean shared) {
    this.store = store;
    this.files = files;
    this.executor = executor;
    this.settings = settings;
    this.clock = clock;
    this.shared = shared;
  }

  /**
   * Starts executing: gives back every claim a previous process left (single node only: on shared
   * storage they may be another instance's, and expire by themselves), then resumes every
   * unfinished batch on the loop thread.
   */
  public void start() {
    if (!shared) {
      int released = store.releaseAllClaims();
      if (released > 0) {
        LOG.info("batches: {} lines in flight at the last stop will run again", released);
      }
    }
    Thread t = Thread.ofPlatform().name("penstock-batch-runner").daemon().unstarted(this::loop);
    loop = t;
    t.start();
  }

  /**
   * What validates a batch again ({@code BatchService::revalidate}): on shared storage, a batch
   * still {@code validating} {@code claim_ms} after it was created was left by an instance that
   * died mid-validation (validating a 200 MB file takes seconds), and any instance takes it over.
   * Two instances validating the same batch are safe: only one can start it.
   */
  public void setRevalidate(java.util.function.Consumer<BatchRecord> validator) {
    this.revalidate = validator;
  }

  /** Looks at the batches now: one was started, cancelled, or may have work. */
  public void wake() {
    lock.lock();
    try {
      woken = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Lines of the batch that ended (done or failed) per minute, over the last minute (or since this
   * runner first saw the batch, when that is shorter): the pace for its ETA. 0 when none ended.
   */
  public double linesPerMinute(String batchId) {
    long now = clock.millis();
    lock.lock();
    try {
      ArrayDeque<Long> times = ended.get(batchId);
      if (times == null) {
        return 0;
      }
      prune(times, now);
      long since = firstSeen.getOrDefault(batchId, now);
      long span = Math.clamp(now - since, 1_000, WINDOW_MILLIS);
      return times.size() * 60_000.0 / span;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Lines this runner ended, by outcome: {@code done}, {@code failed} (for good), or {@code
   * retried} (given back to run later: no room, an upstream failure, a stop).
   */
  public long lines(String outcome) {
    return switch (outcome) {
      case "done" -> linesDone.sum();
      case "failed" -> linesFailed.sum();
      case "retried" -> linesRetried.sum();
      default -> 0;
    };
  }

  /** How many lines this runner has in flight now, over all batches. */
  public int inFlight() {
    lock.lock();
    try {
      return totalInFlight;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Claims no more lines from now on (a stopping gateway); {@link #close} then waits for those in
   * flight.
   */
  public void stop() {
    closing = true;
    wake();
  }

  /** Stops as {@link #close(Duration)} does, waiting at most 30 s for the lines in flight. */
  @Override
  public void close() {
    close(CLOSE_BOUND);
  }

  /**
   * Stops claiming, lets the lines in flight end for at most {@code bound} (a stopping gateway
   * refuses the ones still waiting with {@code shutting_down}, which releases them), then releases
   * the claims of the lines still without an answer and interrupts their threads.
   */
  public void close(Duration bound) {
    if (crashed) {
      return;
    }
    closing = true;
    wake();
    Thread t = loop;
    long deadline = System.nanoTime() + bound.toNanos();
    if (t != null) {
      try {
        t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    List<Claim> left;
    lock.lock();
    try {
      while (totalInFlight > 0) {
        long wait = deadline - System.nanoTime();
        if (wait <= 0) {
          break;
        }
        changed.awaitNanos(wait);
      }
      left = new ArrayList<>(claims);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      left = new ArrayList<>(claims);
    } finally {
      lock.unlock();
    }
    for (Claim c : left) {
      settle(c, new LineOutcome.NoCapacity(0));
      Thread thread = c.thread;
      if (thread != null) {
        thread.interrupt();
      }
    }
  }

  /**
   * Stops like a killed process: no more claims, and nothing this runner holds is completed or
   * released — the lines still running end without writing. For crash tests.
   */
  void crash() {
    crashed = true;
    closing = true;
    wake();
    Thread t = loop;
    if (t != null) {
      try {
        t.join(CLOSE_BOUND);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void loop() {
    while (!closing) {
      try {
        tick();
      } catch (RuntimeException e) {
        LOG.warn("batches: a pass over the unfinished batches failed; trying again soon", e);
      }
      lock.lock();
      try {
        if (!woken && !closing) {
          changed.await(POLL_MILLIS, TimeUnit.MILLISECONDS);
        }
        woken = false;
      } catch (InterruptedException e) {
        return;
      } finally {
        lock.unlock();
      }
    }
  }

  /** One pass over the unfinished batches, oldest first. */
  void tick() {
    for (BatchRecord batch : store.unfinished()) {
      if (closing) {
        return;
      }
      try {
        step(batch);
      } catch (RuntimeException | IOException e) {
        LOG.warn("batches: batch {} could not advance; trying again soon", batch.id(), e);
      }
    }
  }

  private void step(BatchRecord batch) throws IOException {
    long now = clock.millis();
    switch (batch.status()) {
      case IN_PROGRESS -> {
        lock.lock();
        try {
          firstSeen.putIfAbsent(batch.id(), now);
        } finally {
          lock.unlock();
        }
        if (batch.expiresAt() > 0 && now >= batch.expiresAt() * 1000) {
          endLines(batch, ResultLines.EXPIRED, now);
        } else {
          fill(batch, now);
        }
        finalizeWhenIdle(batch, now);
      }
      case CANCELLING -> {
        endLines(batch, ResultLines.CANCELLED, now);
        finalizeWhenIdle(batch, now);
      }
      case FINALIZING -> {
        // Shared storage: another instance moved it and is writing its files now, unless it died;
        // after claim_ms it is this one's too.
        if (!shared || now - batch.finalizingAt() * 1000 >= settings.claimMillis()) {
          finalizeBatch(batch);
        }
      }
      case VALIDATING -> {
        // The validator moves it on; on shared storage a long-stale one is taken over.
        if (shared && now - batch.createdAt() * 1000 >= settings.claimMillis()) {
          revalidate.accept(batch);
        }
      }
      default -> {
        // terminal ones are not unfinished
      }
    }
  }

  /** Claims lines of {@code batch} up to its room and the runner's, and starts them. */
  private void fill(BatchRecord batch, long now) {
    int room;
    lock.lock();
    try {
      room =
          Math.min(
              settings.concurrency() - inFlight.getOrDefault(batch.id(), 0),
              settings.maxConcurrency() - totalInFlight);
    } finally {
      lock.unlock();
    }
    if (room <= 0 || closing) {
      return;
    }
    String token = newToken();
    List<BatchLine> lines = store.claim(batch.id(), room, now, now + settings.claimMillis(), token);
    for (BatchLine line : lines) {
      Claim claim = new Claim(batch, line, token);
      lock.lock();
      try {
        inFlight.merge(batch.id(), 1, Integer::sum);
        totalInFlight++;
        claims.add(claim);
      } finally {
        lock.unlock();
      }
      claim.thread = Thread.ofVirtual().name("penstock-batch-line").start(() -> runLine(claim));
    }
  }

  private void runLine(Claim claim) {
    LineOutcome outcome = new LineOutcome.NoCapacity(-1);
    try {
      outcome = executor.run(claim.batch, claim.line);
    } catch (InterruptedException e) {
      outcome = new LineOutcome.NoCapacity(0);
    } catch (RuntimeException e) {
      LOG.warn(
          "batches: line {} of batch {} failed in the gateway", claim.line.index(), claim.id(), e);
      outcome =
          new LineOutcome.ServerError(
              LineResult.failure(
                  ResultLines.unanswered(
                      claim.id(),
                      claim.line,
                      ResultLines.ATTEMPTS_EXHAUSTED,
                      "Penstock failed to execute this request; see its log.")),
              -1);
    } finally {
      settle(claim, outcome);
    }
  }

  /** Completes or releases {@code claim}'s line — the first call for a claim only. */
  private void settle(Claim claim, LineOutcome outcome) {
    if (crashed || !claim.settled.compareAndSet(false, true)) {
      return;
    }
    String key = claim.id() + "#" + claim.line.index();
    boolean lineEnded = false;
    try {
      long now = clock.millis();
      switch (outcome) {
        case LineOutcome.Finished f -> {
          if (store.complete(claim.id(), claim.line.index(), claim.token, f.result())) {
            (f.result().failed() ? linesFailed : linesDone).increment();
          }
          lineEnded = true;
        }
        case LineOutcome.NoCapacity n -> {
          store.release(
              claim.id(),
              claim.line.index(),
              claim.token,
              now + (n.retryAfterMillis() >= 0 ? n.retryAfterMillis() : POLL_MILLIS));
          linesRetried.increment();
        }
        case LineOutcome.ServerError s -> {
          int failures;
          lock.lock();
          try {
            failures = serverErrors.merge(key, 1, Integer::sum);
          } finally {
            lock.unlock();
          }
          if (failures >= LINE_ATTEMPTS) {
            if (store.complete(claim.id(), claim.line.index(), claim.token, s.ifExhausted())) {
              linesFailed.increment();
            }
            lineEnded = true;
          } else {
            linesRetried.increment();
            long backoff =
                s.retryAfterMillis() >= 0
                    ? s.retryAfterMillis()
                    : Math.min(MAX_BACKOFF_MILLIS, 1_000L << (failures - 1));
            store.release(claim.id(), claim.line.index(), claim.token, now + backoff);
          }
        }
      }
    } catch (RuntimeException e) {
      // The claim stays until it expires; then the line is claimed again.
      LOG.warn(
          "batches: line {} of batch {} could not be stored; it runs again when its claim expires",
          claim.line.index(),
          claim.id(),
          e);
    } finally {
      lock.lock();
      try {
        if (claims.remove(claim)) {
          inFlight.merge(claim.id(), -1, Integer::sum);
          totalInFlight--;
        }
        if (lineEnded) {
          serverErrors.remove(key);
          ArrayDeque<Long> times = ended.computeIfAbsent(claim.id(), k -> new ArrayDeque<>());
          long now = clock.millis();
          times.addLast(now);
          prune(times, now);
        }
        woken = true;
        changed.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }

  /**
   * Ends the lines of a cancelled or expired batch that have not run: its pending lines, and lines
   * claimed by a worker whose claim expired (another node that died).
   */
  private void endLines(BatchRecord batch, String code, long now) {
    String id = batch.id();
    java.util.function.Function<BatchLine, String> errorFor =
        ResultLines.CANCELLED.equals(code)
            ? line -> ResultLines.cancelled(id, line)
            : line -> ResultLines.expired(id, line);
    store.failPending(id, errorFor);
    BatchStore.LineCounts counts = store.counts(id);
    int ours = inFlight(id);
    if (counts.claimed() > ours) {
      String token = newToken();
      for (BatchLine line :
          store.claim(id, counts.claimed() - ours, now, now + settings.claimMillis(), token)) {
        store.complete(id, line.index(), token, LineResult.failure(errorFor.apply(line)));
      }
    }
  }

  private int inFlight(String batchId) {
    lock.lock();
    try {
      return inFlight.getOrDefault(batchId, 0);
    } finally {
      lock.unlock();
    }
  }

  /** Moves the batch to {@code finalizing} and finalizes it once none of its lines is left. */
  private void finalizeWhenIdle(BatchRecord batch, long now) throws IOException {
    if (inFlight(batch.id()) > 0) {
      return;
    }
    BatchStore.LineCounts counts = store.counts(batch.id());
    if (counts.pending() > 0 || counts.claimed() > 0) {
      return;
    }
    if (store.transition(batch.id(), batch.status(), BatchStatus.FINALIZING, now / 1000)) {
      BatchRecord finalizing = store.batch(batch.id()).orElse(null);
      if (finalizing != null) {
        finalizeBatch(finalizing);
      }
    }
  }

  /**
   * Writes the output and error files from the stored results (each only when it has a line) and
   * ends the batch. Safe to repeat: the same ids, each file replaced whole.
   */
  private void finalizeBatch(BatchRecord batch) throws IOException {
    String id = batch.id();
    long nowSeconds = clock.millis() / 1000;
    BatchStore.LineCounts counts = store.counts(id);
    FileRecord output = null;
    if (counts.done() > 0) {
      String fileId = BatchIds.outputFile(id);
      long size = files.write(fileId, out -> store.results(id, false, line -> write(out, line)));
      output =
          new FileRecord(
              fileId, batch.ownerKeyId(), id + "_output.jsonl", "batch_output", size, nowSeconds);
    }
    FileRecord errors = null;
    boolean[] expired = {false};
    if (counts.failed() > 0) {
      String fileId = BatchIds.errorFile(id);
      long size =
          files.write(
              fileId,
              out ->
                  store.results(
                      id,
                      true,
                      line -> {
                        write(out, line);
                        if (!expired[0]
                            && line.contains(ResultLines.EXPIRED)
                            && ResultLines.EXPIRED.equals(ResultLines.errorCode(line))) {
                          expired[0] = true;
                        }
                      }));
      errors =
          new FileRecord(
              fileId, batch.ownerKeyId(), id + "_error.jsonl", "batch_output", size, nowSeconds);
    }
    BatchStatus end =
        batch.cancellingAt() > 0
            ? BatchStatus.CANCELLED
            : expired[0] ? BatchStatus.EXPIRED : BatchStatus.COMPLETED;
    if (store.finish(id, end, output, errors, nowSeconds)) {
      LOG.info(
          "batches: batch {} {}: {} lines done, {} failed",
          id,
          end.wireName(),
          counts.done(),
          counts.failed());
    }
    lock.lock();
    try {
      firstSeen.remove(id);
      ended.remove(id);
      serverErrors.keySet().removeIf(k -> k.startsWith(id + "#"));
    } finally {
      lock.unlock();
    }
  }

  private static void write(OutputStream out, String line) {
    try {
      out.write(line.getBytes(StandardCharsets.UTF_8));
      out.write('\n');
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void prune(ArrayDeque<Long> times, long now) {
    while (!times.isEmpty() && times.peekFirst() <= now - WINDOW_MILLIS) {
      times.pollFirst();
    }
  }

  private static String newToken() {
    return UUID.randomUUID().toString();
  }

  /** One line this runner claimed, until it is completed or released. */
  private static final class Claim {
    final BatchRecord batch;
    final BatchLine line;
    final String token;
    final AtomicBoolean settled = new AtomicBoolean();
    volatile @Nullable Thread thread;

    Claim(BatchRecord batch, BatchLine line, String token) {
      this.batch = batch;
      this.line = line;
      this.token = token;
    }

    String id() {
      return batch.id();
    }
  }
}
