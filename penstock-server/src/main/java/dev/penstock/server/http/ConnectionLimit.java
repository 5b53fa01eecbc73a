package dev.penstock.server.http;

import java.lang.management.ManagementFactory;

/**
 * How many client connections the gateway serves at once. Each one holds a file descriptor, and so
 * does its request's upstream connection; a gateway that accepted connections up to the process's
 * descriptor limit once lost its listener for good ({@code EMFILE} ended Helidon's accept loop: the
 * port stayed closed while the process lived on). With a limit below the descriptor limit, the
 * accept loop waits for a free slot instead (further connections wait in the kernel's backlog), and
 * the descriptors never run out.
 */
final class ConnectionLimit {
  /** Descriptors kept for everything else: jars, logs, the upstream pools' idle connections. */
  static final long RESERVED_DESCRIPTORS = 1024;

  /** The automatic limit's range. */
  static final int MIN = 64;

  static final int MAX = 50_000;

  private ConnectionLimit() {}

  /**
   * The limit in force: {@code configured} when it is set (above 0), else from the descriptor
   * limit: half of what remains after {@link #RESERVED_DESCRIPTORS}, since each connection may hold
   * an upstream connection too.
   */
  static int of(int configured) {
    if (configured > 0) {
      return configured;
    }
    return fromDescriptors(maxDescriptors());
  }

  static int fromDescriptors(long maxDescriptors) {
    if (maxDescriptors <= 0) {
      return MAX; // unknown (not a Unix-like system): no limit of Penstock's own beyond this
    }
    long half = (maxDescriptors - RESERVED_DESCRIPTORS) / 2;
    return (int) Math.max(MIN, Math.min(MAX, half));
  }

  /**
   * Whether the process holds more than 95% of its descriptors: the gateway then reports itself not
   * ready, so that a load balancer sends new connections elsewhere before accepting fails.
   */
  static boolean nearDescriptorLimit() {
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      return nearDescriptorLimit(
          unix.getOpenFileDescriptorCount(), unix.getMaxFileDescriptorCount());
    }
    return false;
  }

  /** Whether {@code open} of {@code max} descriptors is more than 95%; never with no known max. */
  static boolean nearDescriptorLimit(long open, long max) {
    return max > 0 && open * 100 > max * 95;
  }

  /**
   * The process's descriptor limit (the JVM raises its soft limit to the hard one at start on
   * Linux, MaxFDLimit), or -1 where it cannot be read.
   */
  static long maxDescriptors() {
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      return unix.getMaxFileDescriptorCount();
    }
    return -1;
  }
}
