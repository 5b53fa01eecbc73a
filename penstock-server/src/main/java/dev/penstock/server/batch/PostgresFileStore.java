package dev.penstock.server.batch;

import dev.penstock.server.tenant.SqlDatabase;
import dev.penstock.server.tenant.StorageException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Optional;

/**
 * The bytes of stored files in PostgreSQL (cluster mode): rows of at most {@link #CHUNK_BYTES} in
 * {@code file_chunks}, and one row per file in {@code file_blobs} saying how many. Any instance
 * reads any file, with no shared volume to set up; a batch's input and output are a few hundred MB
 * at most, which PostgreSQL holds well in {@code bytea} chunks.
 *
 * <h2>Writing</h2>
 *
 * <p>The content is first spooled to a temporary local file (streamed, counted against the limit),
 * then copied into PostgreSQL in one transaction: the file is there whole or not at all, and a slow
 * uploader holds a disk file, not one of the pool's few connections. (Spooling also means the
 * writer of a batch's output, which reads the results from the same pool, never holds one
 * connection while waiting for another.) The transaction takes an advisory lock on the id, so two
 * instances finalizing the same batch write its output one after the other, the second replacing
 * the first whole.
 *
 * <h2>Reading</h2>
 *
 * <p>{@link #open} reads one chunk at a time, each in a short transaction of its own: a download of
 * 200 MB to a slow client holds 1 MiB of memory and no connection between chunks.
 *
 * <p>Thread-safe.
 */
public final class PostgresFileStore implements FileStore {
  /** The size of a chunk row (the last one of a file may be shorter). */
  static final int CHUNK_BYTES = 1024 * 1024;

  /** The advisory lock space of file writes ("file" in ASCII), beside the id's hash. */
  private static final int LOCK_SPACE = 0x66696c65;

  private final SqlDatabase database;
  private final Path spool;

  /**
   * @param spool where uploads and outputs are spooled before they are copied in (a temporary
   *     directory; created if missing)
   */
  public PostgresFileStore(SqlDatabase database, Path spool) {
    this.database = database;
    this.spool = spool;
  }

  @Override
  public long write(String id, Writer writer) throws IOException {
    FileStore.checkId(id);
    Files.createDirectories(spool);
    Path temp = Files.createTempFile(spool, "penstock-file-", ".part");
    try {
      try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(temp), 64 * 1024)) {
        writer.write(out);
      }
      long size = Files.size(temp);
      int chunks = (int) ((size + CHUNK_BYTES - 1) / CHUNK_BYTES);
      try {
        database.write(
            "storing the bytes of the file " + id,
            c -> {
              try (PreparedStatement lock =
                  c.prepareStatement("SELECT pg_advisory_xact_lock(?, hashtext(?))")) {
                lock.setInt(1, LOCK_SPACE);
                lock.setString(2, id);
                lock.execute();
              }
              try (PreparedStatement delete =
                  c.prepareStatement("DELETE FROM file_blobs WHERE file_id = ?")) {
                delete.setString(1, id);
                delete.executeUpdate();
              }
              try (PreparedStatement blob =
                  c.prepareStatement(
                      "INSERT INTO file_blobs (file_id, bytes, chunks) VALUES (?, ?, ?)")) {
                blob.setString(1, id);
                blob.setLong(2, size);
                blob.setInt(3, chunks);
                blob.executeUpdate();
              }
              copyChunks(c, id, temp);
              return null;
            });
      } catch (StorageException e) {
        throw new IOException(e.getMessage(), e);
      } catch (java.io.UncheckedIOException e) {
        throw e.getCause(); // the spooled file could not be read back
      }
      return size;
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** Inserts the spooled file's chunks, one 1 MiB buffer at a time. */
  private static void copyChunks(java.sql.Connection c, String id, Path temp)
      throws java.sql.SQLException {
    try (InputStream in = Files.newInputStream(temp);
        PreparedStatement insert =
            c.prepareStatement("INSERT INTO file_chunks (file_id, seq, data) VALUES (?, ?, ?)")) {
      byte[] buffer = new byte[CHUNK_BYTES];
      int seq = 0;
      while (true) {
        int n = in.readNBytes(buffer, 0, CHUNK_BYTES);
        if (n == 0) {
          break;
        }
        insert.setString(1, id);
        insert.setInt(2, seq++);
        insert.setBytes(3, n == CHUNK_BYTES ? buffer : java.util.Arrays.copyOf(buffer, n));
        insert.executeUpdate(); // one at a time: the buffer is reused
        if (n < CHUNK_BYTES) {
          break;
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot read the spooled file of " + id, e);
    }
  }

  @Override
  public InputStream open(String id) throws IOException {
    FileStore.checkId(id);
    int chunks = chunks(id).orElseThrow(() -> new NoSuchFileException(id));
    return new ChunkStream(id, chunks);
  }

  @Override
  public boolean exists(String id) {
    return chunks(FileStore.checkId(id)).isPresent();
  }

  private Optional<Integer> chunks(String id) {
    return database.read(
        "reading the size of the file " + id,
        c -> {
          try (PreparedStatement s =
              c.prepareStatement("SELECT chunks FROM file_blobs WHERE file_id = ?")) {
            s.setString(1, id);
            try (ResultSet r = s.executeQuery()) {
              return r.next() ? Optional.of(r.getInt(1)) : Optional.<Integer>empty();
            }
          }
        });
  }

  @Override
  public void delete(String id) throws IOException {
    FileStore.checkId(id);
    try {
      database.write(
          "deleting the bytes of the file " + id,
          c -> {
            try (PreparedStatement s =
                c.prepareStatement("DELETE FROM file_blobs WHERE file_id = ?")) {
              s.setString(1, id); // its chunks go with it (ON DELETE CASCADE)
              s.executeUpdate();
            }
            return null;
          });
    } catch (StorageException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /** A file's content, read a chunk at a time. */
  private final class ChunkStream extends InputStream {
    private final String id;
    private final int chunks;
    private int next;
    private byte[] current = new byte[0];
    private int position;

    ChunkStream(String id, int chunks) {
      this.id = id;
      this.chunks = chunks;
    }

    /** Makes {@code current} hold unread bytes; false at the end. */
    private boolean fill() throws IOException {
      while (position >= current.length) {
        if (next >= chunks) {
          return false;
        }
        int seq = next++;
        try {
          Optional<byte[]> data =
              database.read(
                  "reading the file " + id,
                  c -> {
                    try (PreparedStatement s =
                        c.prepareStatement(
                            "SELECT data FROM file_chunks WHERE file_id = ? AND seq = ?")) {
                      s.setString(1, id);
                      s.setInt(2, seq);
                      try (ResultSet r = s.executeQuery()) {
                        return r.next() ? Optional.of(r.getBytes(1)) : Optional.<byte[]>empty();
                      }
                    }
                  });
          if (data.isEmpty()) {
            throw new IOException(
                "the file " + id + " lost its chunk " + seq + " while being read (deleted?)");
          }
          current = data.get();
          position = 0;
        } catch (StorageException e) {
          throw new IOException(e.getMessage(), e);
        }
      }
      return true;
    }

    @Override
    public int read() throws IOException {
      return fill() ? current[position++] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      java.util.Objects.checkFromIndexSize(off, len, b.length);
      if (len == 0) {
        return 0;
      }
      if (!fill()) {
        return -1;
      }
      int n = Math.min(len, current.length - position);
      System.arraycopy(current, position, b, off, n);
      position += n;
      return n;
    }
  }
}
