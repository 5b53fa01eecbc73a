package dev.penstock.server.config;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the configuration file and calls {@code onChange} when its content changed.
 *
 * <h2>Design</h2>
 *
 * <p>The watch is on the file's directory, not the file: editors save by writing a new file and
 * renaming it over the old one, and Kubernetes swaps a symlink in the directory; both replace the
 * file a watch on it would follow. Any event in the directory is a hint only. After one, the
 * watcher waits for the directory to be quiet for {@code settleMillis} (an editor's save is several
 * events) and then compares the file's content with what it last saw: a change calls {@code
 * onChange} once; an unchanged file (another file in the directory changed) calls nothing.
 *
 * <p>Threads: one platform daemon thread, {@code penstock-config-watcher}; {@code onChange} runs on
 * it. {@link #close} stops it.
 */
public final class ConfigWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ConfigWatcher.class);

  private final Path file;
  private final long settleMillis;
  private final Runnable onChange;
  private final WatchService watch;
  private final Thread thread;
  private byte @Nullable [] lastDigest;

  /** Starts watching {@code file}; its present content counts as seen. */
  public ConfigWatcher(Path file, long settleMillis, Runnable onChange) throws IOException {
    this.file = file.toAbsolutePath();
    this.settleMillis = settleMillis;
    this.onChange = onChange;
    this.lastDigest = digest(this.file);
    Path directory = this.file.getParent();
    if (directory == null) {
      throw new IllegalArgumentException(file + " is a root, not a file in a directory");
    }
    this.watch = this.file.getFileSystem().newWatchService();
    directory.register(
        watch,
        StandardWatchEventKinds.ENTRY_CREATE,
        StandardWatchEventKinds.ENTRY_MODIFY,
        StandardWatchEventKinds.ENTRY_DELETE);
    this.thread = Thread.ofPlatform().name("penstock-config-watcher").daemon().start(this::run);
  }

  private void run() {
    try {
      while (true) {
        WatchKey key = watch.take();
        drain(key);
        // Wait until the directory is quiet: a save is often several events.
        for (WatchKey more = watch.poll(settleMillis, TimeUnit.MILLISECONDS);
            more != null;
            more = watch.poll(settleMillis, TimeUnit.MILLISECONDS)) {
          drain(more);
        }
        checkForChange();
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // closed
    }
  }

  private static void drain(WatchKey key) {
    key.pollEvents();
    key.reset();
  }

  private void checkForChange() {
    byte[] now = digest(file);
    if (now == null || Arrays.equals(now, lastDigest)) {
      return; // gone for the moment (mid-rename), or the change was to another file
    }
    lastDigest = now;
    try {
      onChange.run();
    } catch (RuntimeException e) {
      LOG.error("config reload after a file change failed", e);
    }
  }

  private static byte @Nullable [] digest(Path file) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
    } catch (IOException e) {
      return null;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }

  @Override
  public void close() {
    try {
      watch.close();
    } catch (IOException e) {
      // closing anyway
    }
    thread.interrupt();
  }
}
