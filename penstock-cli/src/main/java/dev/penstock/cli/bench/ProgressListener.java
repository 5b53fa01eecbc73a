package dev.penstock.cli.bench;

/**
 * Receives a {@link ProgressSnapshot} about ten times a second while a run goes on, on the thread
 * that called {@link BenchRun#run}. A slow listener delays the timeout sweep, not the load.
 */
@FunctionalInterface
public interface ProgressListener {

  void onProgress(ProgressSnapshot snapshot);

  /** Called once, after the last request has ended, with the final counts. */
  default void onFinished(ProgressSnapshot last) {}

  /** A listener that ignores everything. */
  static ProgressListener none() {
    return snapshot -> {};
  }
}
