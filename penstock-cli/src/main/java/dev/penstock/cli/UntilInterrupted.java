package dev.penstock.cli;

import java.util.concurrent.CountDownLatch;

/** Keeps a long-running command alive until the process is interrupted (Ctrl-C, SIGTERM). */
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
                        stopped.countDown();
                      }
                    }));
    stopped.await();
  }
}
