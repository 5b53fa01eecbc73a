package dev.penstock.cli.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayInputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * One bench run: offers the configured load for the configured duration, waits for the answers, and
 * returns what it measured. Usable in-process ({@code penstock demo} calls {@link #run}).
 *
 * <p>{@link #run} blocks the calling thread for a warm-up (a fraction of a second, off the clock),
 * the duration, and at most one request timeout; it calls the listener on that thread.
 */
public final class BenchRun {
  /*
   * Threads
   * -------
   * driver      one platform thread: the open-loop scheduler (which needs timely wake-ups, so
   *             not a virtual thread that could wait behind busy carriers) or the closed-loop
   *             launcher. It only launches; it never waits for an answer.
   * requests    one virtual thread per request: send, read the answer to its last byte, record.
   * caller      every TICK: settles requests past their timeout (interrupting their threads,
   *             which cancels the HTTP exchange) and reports progress. It returns once the
   *             driver has stopped and nothing is in flight.
   *
   * Ending
   * ------
   * Sending stops at the end of the duration (or at the request cap). Requests in flight then
   * have until their own deadline (sent time + timeout) to end; the sweep counts the rest as
   * timeouts. Every request is settled exactly once, by whoever removes it from InFlightRequests
   * first, so the outcome counts always add up to sent + dropped.
   */
  static final long TICK_NANOS = 100_000_000L;

  /** Per-second buckets beyond this (about 11 days) fold into the last one. */
  private static final int MAX_TIMELINE_SECONDS = 1_000_000;

  private final BenchOptions options;
  private final Transport transport;
  private final BenchClock clock;
  private final Clock wallClock;

  BenchRun(BenchOptions options, Transport transport, BenchClock clock, Clock wallClock) {
    this.options = options;
    this.transport = transport;
    this.clock = clock;
    this.wallClock = wallClock;
  }

  /**
   * Runs a benchmark over HTTP with the real clock.
   *
   * @throws InterruptedException when the calling thread is interrupted; the run is abandoned
   */
  public static BenchResult run(BenchOptions options, ProgressListener listener)
      throws InterruptedException {
    return run(options, Duration.ZERO, listener);
  }

  /**
   * Runs a benchmark after offering the same load for {@code warmup}, unmeasured, on the same
   * connections: neither bench's JIT nor the target's, nor opening connections, skews the result.
   */
  public static BenchResult run(BenchOptions options, Duration warmup, ProgressListener listener)
      throws InterruptedException {
    try (Transport transport = new HelidonTransport(options)) {
      if (!warmup.isZero()) {
        new BenchRun(options.forWarmup(warmup), transport, BenchClock.system(), Clock.systemUTC())
            .execute(ProgressListener.none());
      }
      return new BenchRun(options, transport, BenchClock.system(), Clock.systemUTC())
          .execute(listener);
    }
  }

  BenchResult execute(ProgressListener listener) throws InterruptedException {
    warmUp();
    long start = clock.nanoTime();
    Instant startedAt = wallClock.instant();
    long end = start + options.duration().toNanos();
    long seconds = options.duration().plus(options.timeout()).toSeconds() + 2;
    BenchRecorder recorder =
        new BenchRecorder(start, (int) Math.min(seconds, MAX_TIMELINE_SECONDS));
    InFlightRequests inFlight = new InFlightRequests();
    AtomicLong sendEnd = new AtomicLong(end);
    Load load = load(start, end, recorder, inFlight);
    Thread driverThread =
        Thread.ofPlatform()
            .name("penstock-bench-driver")
            .daemon(true)
            .start(() -> sendEnd.set(load.driver().getAsLong()));
    try {
      await(driverThread, start, load.launcher(), recorder, inFlight, listener);
    } finally {
      driverThread.interrupt(); // stops sending if the caller gave up on the run
    }
    listener.onFinished(recorder.snapshot(clock.nanoTime(), options, 0, true));
    return recorder.result(options, startedAt, sendEnd.get());
  }

  /** The launcher that runs requests, and the driver that decides when. */
  private record Load(RequestLauncher launcher, LongSupplier driver) {}

  private Load load(long start, long end, BenchRecorder recorder, InFlightRequests inFlight) {
    Exchange exchange = new Exchange(options, transport, clock);
    long timeoutNanos = options.timeout().toNanos();
    long cap = options.requestCap();
    return switch (options.load()) {
      case LoadMode.OpenLoop open -> {
        var launcher =
            new RequestLauncher(exchange, recorder, inFlight, clock, timeoutNanos, () -> {});
        int maxInFlight = options.maxInFlight();
        Launcher dropping = (number, due) -> launcher.launchOrDrop(number, due, maxInFlight);
        yield new Load(
            launcher, new OpenLoopScheduler(open.rate(), start, end, cap, clock, dropping)::drive);
      }
      case LoadMode.ClosedLoop closed -> {
        Semaphore permits = new Semaphore(closed.concurrency());
        var launcher =
            new RequestLauncher(
                exchange, recorder, inFlight, clock, timeoutNanos, permits::release);
        yield new Load(
            launcher, new ClosedLoopDriver(permits, end, cap, clock, launcher::launch)::drive);
      }
    };
  }

  /**
   * Runs bench's own per-request code once, off the clock and without the target: the first virtual
   * thread, histogram record, JSON parse and HTTP exchange each load classes, for a few hundred
   * milliseconds together, which would otherwise show up as send lag and as latency of the run's
   * first requests.
   */
  private void warmUp() throws InterruptedException {
    transport.warmUp();
    BenchRecorder scratch = new BenchRecorder(0, 1);
    ReplyReader reader = new ReplyReader(options.endpoint(), options.stream(), clock);
    byte[] sample =
        options.stream()
            ? "data: {\"choices\":[],\"usage\":{}}\n\ndata: [DONE]\n\n".getBytes(UTF_8)
            : "{\"usage\":{\"prompt_tokens\":1}}".getBytes(UTF_8);
    Thread.ofVirtual()
        .start(
            () -> {
              new RequestBodies(options).body(0);
              Completion completion =
                  reader.read(
                      new Transport.HttpReply(200, "", -1, new ByteArrayInputStream(sample)));
              scratch.sent(0, 0);
              scratch.completed(0, completion);
            })
        .join();
  }

  /** Sweeps timeouts and reports progress until the driver is done and nothing is in flight. */
  private void await(
      Thread driverThread,
      long start,
      RequestLauncher launcher,
      BenchRecorder recorder,
      InFlightRequests inFlight,
      ProgressListener listener)
      throws InterruptedException {
    long tick = start;
    // isAlive() false happens-after every launch, so no launched request is missed here; waiting
    // for "unrecorded" rather than "in flight" waits for the last result to be counted too.
    while (driverThread.isAlive() || launcher.unrecorded() > 0) {
      tick += TICK_NANOS;
      clock.parkUntil(tick);
      long now = clock.nanoTime();
      launcher.expire(now);
      listener.onProgress(
          recorder.snapshot(now, options, inFlight.size(), !driverThread.isAlive()));
    }
  }
}
