package dev.penstock.cli;

import java.util.concurrent.CountDownLatch;

/**
 * Keeps a long-running command alive until the process is interrupted (Ctrl-C, SIGTERM), then stops
 * it — the gateway drains here, for up to its grace period — and only then stops Logback, so that
 * every line of the drain, and the asynchronous queue, is written.
 */
final class UntilInterrupted {
  private UntilInterrupted() {}

  /** Blocks until shutdown, then closes {@code service}; the JVM exits once this returns. */
  static void run(AutoCloseable service) throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            Thread.ofPlatform()
                .unstarted(
                    () -> {
                      try {
                        service.close();
                      } catch (Exception e) {
                        System.err.println("penstock: error while stopping: " + e.getMessage());
                      } finally {
                        LogFormat.stopLogging();
                        stopped.countDown();
                      }
                    }));
    stopped.await();
  }
}
