package dev.penstock.server.tenant;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on {@code <database>.lock}, held while the database is open, so that a second
 * Penstock on the same file is refused at start instead of sharing it.
 *
 * <p>Why a separate file: SQLite's own locks last one transaction only (two processes taking turns
 * would both run, each with its own view of keys and budgets), and SQLite's exclusive locking mode
 * would also shut out readers such as {@code sqlite3} inspecting the ledger. The lock file is never
 * the database itself: POSIX locks belong to the process, and closing any descriptor of a file
 * drops all of them, which would silently release SQLite's. The file stays after close (deleting it
 * would race with a process about to lock it); it is empty.
 */
final class ProcessLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;

  private ProcessLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the lock for {@code database}, or throws.
   *
   * @param prefix starts the error message ("Cannot open the database /x.db")
   * @throws StorageException when another process (or this one) holds it, or it cannot be created
   */
  static ProcessLock acquire(Path database, String prefix) {
    Path file = database.resolveSibling(database.getFileName() + ".lock");
    FileChannel channel;
    try {
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    } catch (AccessDeniedException e) {
      throw new StorageException(
          prefix + ": its lock file " + file + " cannot be created or written (read-only)", e);
    } catch (IOException e) {
      throw new StorageException(prefix + ": its lock file " + file + " cannot be opened: " + e, e);
    }
    try {
      FileLock lock = channel.tryLock();
      if (lock == null) {
        throw new StorageException(
            prefix
                + ": it is in use by another process — is another Penstock running with this"
                + " database? (its lock file "
                + file
                + " is held)");
      }
      return new ProcessLock(channel, lock);
    } catch (OverlappingFileLockException e) {
      closeQuietly(channel);
      throw new StorageException(prefix + ": it is already open in this process", e);
    } catch (IOException e) {
      closeQuietly(channel);
      throw new StorageException(prefix + ": its lock file " + file + " cannot be locked: " + e, e);
    } catch (StorageException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      // closing the channel releases it as well
    }
    closeQuietly(channel);
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      // nothing left to release
    }
  }
}
