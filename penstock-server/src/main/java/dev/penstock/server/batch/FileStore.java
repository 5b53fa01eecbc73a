package dev.penstock.server.batch;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.regex.Pattern;

/**
 * The bytes of stored files: one file each in a directory ({@code <data dir>/files/<id>}), written
 * atomically — to a temporary file, forced to disk, then moved into place — so that a crash leaves
 * either the whole file or none, never a part. Metadata lives in the {@link BatchStore}.
 *
 * <p>Thread-safe: files are immutable once written; writing the same id again replaces it whole (a
 * batch finalized again after a restart rewrites its output file).
 */
public final class FileStore {
  private static final Pattern ID = Pattern.compile("file-[A-Za-z0-9_-]{1,64}");

  /** Writes a file's content to the stream it is given. */
  @FunctionalInterface
  public interface Writer {
    void write(OutputStream out) throws IOException;
  }

  /** The upload was larger than allowed; nothing was kept. */
  public static final class TooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    TooLargeException(long maxBytes) {
      super("the file is larger than " + maxBytes + " bytes");
    }
  }

  private final Path directory;

  /**
   * Files in {@code directory}, created if missing. Temporary files a killed process left behind
   * (an upload or an output file cut off mid-write) are removed: this node is their only writer.
   */
  public FileStore(Path directory) throws IOException {
    this.directory = directory.toAbsolutePath().normalize();
    Files.createDirectories(this.directory);
    try (java.util.stream.Stream<Path> left = Files.list(this.directory)) {
      for (Path p : (Iterable<Path>) left::iterator) {
        if (p.getFileName().toString().startsWith(".tmp-")) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  public Path directory() {
    return directory;
  }

  /** Where the file {@code id} lives (whether or not it exists). */
  public Path path(String id) {
    if (!ID.matcher(id).matches()) {
      throw new IllegalArgumentException("not a file id: " + id);
    }
    return directory.resolve(id);
  }

  /** Writes the file {@code id} atomically from {@code writer}; returns its size in bytes. */
  public long write(String id, Writer writer) throws IOException {
    Path target = path(id);
    Path temp = Files.createTempFile(directory, ".tmp-", "");
    try {
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE);
          OutputStream out =
              new java.io.BufferedOutputStream(
                  java.nio.channels.Channels.newOutputStream(channel))) {
        writer.write(out);
        out.flush();
        channel.force(true);
      }
      long size = Files.size(temp);
      move(temp, target);
      return size;
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /**
   * Writes the file {@code id} atomically from {@code in}, refusing (and keeping nothing of) more
   * than {@code maxBytes}; returns its size.
   *
   * @throws TooLargeException when {@code in} holds more than {@code maxBytes}
   */
  public long write(String id, InputStream in, long maxBytes) throws IOException {
    return write(
        id,
        out -> {
          byte[] buffer = new byte[64 * 1024];
          long total = 0;
          int n;
          while ((n = in.read(buffer)) >= 0) {
            total += n;
            if (total > maxBytes) {
              throw new TooLargeException(maxBytes);
            }
            out.write(buffer, 0, n);
          }
        });
  }

  /** Reads the file {@code id}. */
  public InputStream open(String id) throws IOException {
    return Files.newInputStream(path(id));
  }

  public boolean exists(String id) {
    return Files.isRegularFile(path(id));
  }

  /** Removes the file {@code id}'s bytes, if there are any. */
  public void delete(String id) throws IOException {
    Files.deleteIfExists(path(id));
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
