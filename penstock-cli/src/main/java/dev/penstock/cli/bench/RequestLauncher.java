package dev.penstock.cli.bench;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Starts each request on its own virtual thread and settles it exactly once: when it ends, or when
 * {@link #expire} finds it past its timeout, whichever comes first.
 *
 * <p>A fresh thread per request (rather than a pool of workers) makes the timeout simple: the sweep
 * interrupts the request's thread, which cancels the HTTP exchange, and that thread then ends; no
 * worker can carry a stray interrupt into its next request.
 */
final class RequestLauncher {
  private final Exchange exchange;
  private final BenchRecorder recorder;
  private final InFlightRequests inFlight;
  private final BenchClock clock;
  private final long timeoutNanos;
  private final Runnable onSettled;
  private final ThreadFactory threads = Thread.ofVirtual().name("bench-request").factory();

  /**
   * Launched requests not yet recorded. Leaving {@code inFlight} is the claim that settles a
   * request once; this count falls only after the recording, so whoever waits for it to reach zero
   * sees every result.
   */
  private final AtomicInteger unrecorded = new AtomicInteger();

  /**
   * @param onSettled called once per settled request (the closed loop frees a slot)
   */
  RequestLauncher(
      Exchange exchange,
      BenchRecorder recorder,
      InFlightRequests inFlight,
      BenchClock clock,
      long timeoutNanos,
      Runnable onSettled) {
    this.exchange = exchange;
    this.recorder = recorder;
    this.inFlight = inFlight;
    this.clock = clock;
    this.timeoutNanos = timeoutNanos;
    this.onSettled = onSettled;
  }

  /** Sends request {@code number}, due at {@code dueNanos}, on a new virtual thread. */
  void launch(long number, long dueNanos) {
    long now = clock.nanoTime();
    Thread thread = threads.newThread(() -> settle(number, exchange.perform(number)));
    // Registered before the thread starts, so the request can never end before it is in flight.
    inFlight.add(new InFlightRequests.Entry(number, dueNanos, now + timeoutNanos, thread));
    unrecorded.incrementAndGet();
    recorder.sent(dueNanos, now);
    thread.start();
  }

  /** Open loop: sends the request, or counts it as dropped when {@code maxInFlight} are out. */
  void launchOrDrop(long number, long dueNanos, int maxInFlight) {
    if (inFlight.size() >= maxInFlight) {
      recorder.dropped(dueNanos);
    } else {
      launch(number, dueNanos);
    }
  }

  /** Settles every request past its deadline as a timeout and cancels its exchange. */
  void expire(long nowNanos) {
    for (InFlightRequests.Entry overdue : inFlight.overdue(nowNanos)) {
      inFlight
          .remove(overdue.number())
          .ifPresent(
              entry -> {
                recorder.completed(entry.dueNanos(), Completion.failed(Outcome.TIMEOUT, nowNanos));
                unrecorded.decrementAndGet();
                entry.thread().interrupt();
                onSettled.run();
              });
    }
  }

  /** How many launched requests are not yet in the recorder's figures. */
  int unrecorded() {
    return unrecorded.get();
  }

  private void settle(long number, Completion completion) {
    inFlight
        .remove(number)
        .ifPresent(
            entry -> {
              recorder.completed(entry.dueNanos(), completion);
              unrecorded.decrementAndGet();
              onSettled.run();
            });
  }
}
