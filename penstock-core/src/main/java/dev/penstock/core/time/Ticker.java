package dev.penstock.core.time;

/**
 * A monotonic clock in nanoseconds, with an arbitrary origin; only differences mean anything.
 * Everything in core that needs "now" gets it from a Ticker (or as an argument), so that tests and
 * the simulation run in virtual time.
 */
@FunctionalInterface
public interface Ticker {
  long nanos();

  /** {@link System#nanoTime()}. */
  static Ticker system() {
    return System::nanoTime;
  }
}
