package dev.penstock.core.limit;

import java.time.Duration;

/**
 * The window the limits are counted over, and the guard added to it.
 *
 * <p>Providers count a request when it <em>arrives</em>; Penstock can only know when it
 * <em>sent</em> it. A request that is delayed on its way (a new connection, a slow network) could
 * land in the same provider window as the request one full window later, and the provider would see
 * one request too many. Penstock therefore counts each reservation for {@code window + guard}: any
 * arrival jitter smaller than the guard cannot cause a {@code 429}. The price is throughput: the
 * pool delivers {@code window / (window + guard)} of the limit — 99.2% with the defaults.
 */
public record Pacing(long windowNanos, long guardNanos) {
  public static final Pacing DEFAULT =
      new Pacing(Duration.ofSeconds(60).toNanos(), Duration.ofMillis(500).toNanos());

  public Pacing {
    if (windowNanos <= 0 || guardNanos < 0) {
      throw new IllegalArgumentException("window must be positive and guard not negative");
    }
  }

  /** How long one reservation occupies the window: {@code window + guard}. */
  public long spanNanos() {
    return windowNanos + guardNanos;
  }
}
