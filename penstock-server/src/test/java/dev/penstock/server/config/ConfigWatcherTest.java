package dev.penstock.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The watcher on a real directory: each wait is for an event, bounded only as a safety net. */
class ConfigWatcherTest {
  @TempDir Path dir;

  private final Semaphore changes = new Semaphore(0);

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
