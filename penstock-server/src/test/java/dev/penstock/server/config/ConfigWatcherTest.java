package dev.penstock.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The watcher on a real directory: each wait is for an event, bounded only as a safety net. */
class ConfigWatcherTest {
  @TempDir Path dir;

  private final Semaphore changes = new Semaphore(0);

  /** A busy gateway's log: a line every 10 ms, never quiet for the 50 ms settle time. */
  private static final long LOG_LINE_EVERY_NANOS = 10_000_000;

  private boolean changeSeen() throws InterruptedException {
    return changes.tryAcquire(10, TimeUnit.SECONDS);
  }

  @Test
  void aRewriteAndAnAtomicRenameEachCountAsOneChange() throws Exception {
    Path file = dir.resolve("penstock.yaml");
    Files.writeString(file, "one");
    try (ConfigWatcher _ = new ConfigWatcher(file, 50, changes::release)) {
      Files.writeString(file, "two");
      assertThat(changeSeen()).as("rewrite in place").isTrue();

      // An editor's save: a new file renamed over the old one.
      Path temp = dir.resolve(".penstock.yaml.swp");
      Files.writeString(temp, "three");
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      assertThat(changeSeen()).as("atomic rename").isTrue();

      // Another file in the directory changes, then the config file: one change only.
      Files.writeString(dir.resolve("other.txt"), "x");
      Files.writeString(file, "four");
      assertThat(changeSeen()).isTrue();
      assertThat(changes.availablePermits()).isZero();
    }
  }

  @Test
  void aLogWrittenWithoutPauseInTheSameDirectoryDoesNotHoldBackAChange() throws Exception {
    Path file = dir.resolve("penstock.yaml");
    Files.writeString(file, "before");
    AtomicBoolean writing = new AtomicBoolean(true);
    Thread log =
        Thread.ofVirtual()
            .start(
                () -> {
                  try (var out = Files.newOutputStream(dir.resolve("penstock.log"))) {
                    while (writing.get()) {
                      out.write("a log line\n".getBytes(StandardCharsets.UTF_8));
                      out.flush();
                      LockSupport.parkNanos(LOG_LINE_EVERY_NANOS); // a log's pace, not a wait
                    }
                  } catch (IOException e) {
                    throw new UncheckedIOException(e);
                  }
                });
    try (ConfigWatcher _ = new ConfigWatcher(file, 50, changes::release)) {
      Files.writeString(file, "after");
      assertThat(changeSeen()).as("the change while the log is written").isTrue();
    } finally {
      writing.set(false);
      log.join(Duration.ofSeconds(10));
    }
    assertThat(log.isAlive()).isFalse();
  }

  @Test
  void rewritingTheSameContentIsNoChange() throws Exception {
    Path file = dir.resolve("penstock.yaml");
    Files.writeString(file, "same");
    try (ConfigWatcher _ = new ConfigWatcher(file, 50, changes::release)) {
      Files.writeString(file, "same");
      Files.writeString(file, "different");
      assertThat(changeSeen()).isTrue();
      assertThat(changes.availablePermits()).isZero();
    }
  }
}
