package dev.penstock.server.batch;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.regex.Pattern;

/**
 * The bytes of the Batch API's files (uploads, batch outputs); their metadata lives in the {@link
 * BatchStore}. One node keeps them in a directory ({@link DirectoryFileStore}); a cluster in
 * PostgreSQL ({@link PostgresFileStore}), so that every instance reads every file without a shared
 * volume.
 *
 * <p>Every implementation writes a file whole or not at all: a failure (or a crash) mid-write
 * leaves the previous content of that id, or nothing, never a part. Writing an id again replaces it
 * whole (a batch finalized again rewrites its output file). Bytes are streamed in and out, never
 * held whole in memory. Thread-safe.
 */
public interface FileStore {
  /** What a file id looks like: {@code file-} and up to 64 URL-safe characters. */
  Pattern ID = Pattern.compile("file-[A-Za-z0-9_-]{1,64}");

  /** Writes a file's content to the stream it is given. */
  @FunctionalInterface
  interface Writer {
    void write(OutputStream out) throws IOException;
  }

  /** The upload was larger than allowed; nothing was kept. */
  final class TooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    TooLargeException(long maxBytes) {
      super("the file is larger than " + maxBytes + " bytes");
    }
  }

  /** Writes the file {@code id} whole from {@code writer}; returns its size in bytes. */
  long write(String id, Writer writer) throws IOException;

  /**
   * Writes the file {@code id} whole from {@code in}, refusing (and keeping nothing of) more than
   * {@code maxBytes}; returns its size.
   *
   * @throws TooLargeException when {@code in} holds more than {@code maxBytes}
   */
  default long write(String id, InputStream in, long maxBytes) throws IOException {
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

  /**
   * Reads the file {@code id}.
   *
   * @throws java.nio.file.NoSuchFileException when it has no bytes
   */
  InputStream open(String id) throws IOException;

  /** Whether the file {@code id} has bytes. */
  boolean exists(String id);

  /** Removes the file {@code id}'s bytes, if there are any. */
  void delete(String id) throws IOException;

  /**
   * {@code id}, when it is a file id.
   *
   * @throws IllegalArgumentException when it is not
   */
  static String checkId(String id) {
    if (!ID.matcher(id).matches()) {
      throw new IllegalArgumentException("not a file id: " + id);
    }
    return id;
  }
}
