package dev.penstock.cli.bench;

/**
 * How bench offers load: at a fixed rate whatever the answers take (open loop), or with a fixed
 * number of requests outstanding (closed loop).
 *
 * <p>Open loop is the honest model of independent users: when the server slows down, requests keep
 * arriving and queueing shows up as latency. Closed loop measures the capacity of a fixed number of
 * clients and never queues more than that number.
 */
public sealed interface LoadMode {

  /** Request {@code i} is due at {@code start + rate.offsetNanos(i)}. */
  record OpenLoop(Rate rate) implements LoadMode {}

  /** {@code concurrency} requests are always outstanding; each answer starts the next request. */
  record ClosedLoop(int concurrency) implements LoadMode {
    public ClosedLoop {
      if (concurrency < 1) {
        throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
      }
    }
  }

  /** How the mode reads in reports, e.g. {@code open loop 20/s} or {@code closed loop 8}. */
  default String describe() {
    return switch (this) {
      case OpenLoop open -> "open loop at " + open.rate();
      case ClosedLoop closed -> "closed loop, concurrency " + closed.concurrency();
    };
  }
}
