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

/**
 * The bytes of stored files on a single node: one file each in a directory ({@code <data
 * dir>/files/<id>}), written atomically — to a temporary file, forced to disk, then moved into
 * place — so that a crash leaves either the whole file or none, never a part. Metadata lives in the
 * {@link BatchStore}. (Cluster mode keeps them in PostgreSQL instead: {@link PostgresFileStore}.)
 *
 * <p>Thread-safe: files are immutable once written; writing the same id again replaces it whole (a
 * batch finalized again after a restart rewrites its output file).
 */
public final class DirectoryFileStore implements FileStore {
  private final Path directory;

  /**
   * Files in {@code directory}, created if missing. Temporary files a killed process left behind
   * (an upload or an output file cut off mid-write) are removed: this node is their only writer.
   */
  public DirectoryFileStore(Path directory) throws IOException {
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
    return directory.resolve(FileStore.checkId(id));
  }

  @Override
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

  @Override
  public InputStream open(String id) throws IOException {
    return Files.newInputStream(path(id));
  }

  @Override
  public boolean exists(String id) {
    return Files.isRegularFile(path(id));
  }

  @Override
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
