package dev.penstock.cli.bench;

/** Where a load driver hands each request when it is due. Must not block for long. */
@FunctionalInterface
interface Launcher {

  /**
   * Starts request {@code number}, which was due at {@code dueNanos} (bench clock); latency is
   * measured from then, however late the launch.
   */
  void launch(long number, long dueNanos);
}
