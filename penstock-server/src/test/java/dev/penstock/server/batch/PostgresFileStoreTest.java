package dev.penstock.server.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.server.tenant.PostgresStorage;
import dev.penstock.server.testing.PostgresDatabase;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * File bytes in PostgreSQL: written whole in 1 MiB chunks and read back the same (streamed),
 * replaced whole, refused over the limit with nothing kept, gone with their file, and a write that
 * fails half-way leaves nothing of itself (nor changes the file it would have replaced). A second
 * storage on the same database (another instance) reads what the first wrote.
 */
class PostgresFileStoreTest {
  private static final int MIB = 1024 * 1024;

  private PostgresDatabase database;
  private PostgresStorage storage;
  private FileStore store;

  @BeforeEach
  void open() {
    database = PostgresDatabase.create();
    storage = database.open();
    store = storage.files();
  }

  @AfterEach
  void close() {
    try {
      storage.close();
    } finally {
      database.close();
    }
  }

  /** {@code size} seeded pseudo-random bytes, written in pieces of odd sizes. */
  private static FileStore.Writer content(long seed, int size) {
    return out -> {
      Random random = new Random(seed);
      byte[] piece = new byte[70_001];
      int left = size;
      while (left > 0) {
        int n = Math.min(left, piece.length);
        random.nextBytes(piece);
        out.write(piece, 0, n);
        left -= n;
      }
    };
  }

  private static byte[] digest(FileStore.Writer writer) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    try (OutputStream out =
        new OutputStream() {
          @Override
          public void write(int b) {
            sha.update((byte) b);
          }

          @Override
          public void write(byte[] b, int off, int len) {
            sha.update(b, off, len);
          }
        }) {
      writer.write(out);
    }
    return sha.digest();
  }

  private static byte[] digest(InputStream in) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    byte[] buffer = new byte[8192 + 17];
    int n;
    while ((n = in.read(buffer)) >= 0) {
      sha.update(buffer, 0, n);
    }
    return sha.digest();
  }

  private long rows(String table) throws SQLException {
    try (Connection c = database.connect();
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
      r.next();
      return r.getLong(1);
    }
  }

  @Test
  void aFileGoesInInChunksAndComesBackTheSameOnAnotherInstance() throws Exception {
    int size = 3 * MIB + 12_345;
    assertThat(store.write("file-big", content(7, size))).isEqualTo(size);
    assertThat(rows("file_chunks")).isEqualTo(4);
    try (PostgresStorage other = database.open();
        InputStream in = other.files().open("file-big")) {
      assertThat(other.files().exists("file-big")).isTrue();
      assertThat(digest(in)).isEqualTo(digest(content(7, size)));
    }
    try (InputStream in = store.open("file-big")) {
      assertThat(in.read()).isBetween(0, 255); // the single-byte read too
    }
  }

  @Test
  void anEmptyFileAndAnExactChunkRoundTrip() throws Exception {
    assertThat(store.write("file-empty", out -> {})).isZero();
    try (InputStream in = store.open("file-empty")) {
      assertThat(in.readAllBytes()).isEmpty();
    }
    assertThat(store.write("file-one", content(3, MIB))).isEqualTo(MIB);
    try (InputStream in = store.open("file-one")) {
      assertThat(digest(in)).isEqualTo(digest(content(3, MIB)));
    }
    assertThat(rows("file_chunks")).isEqualTo(1);
  }

  @Test
  void writingAnIdAgainReplacesItWhole() throws Exception {
    store.write("file-a", content(1, 2 * MIB + 5));
    store.write("file-a", content(2, 100));
    try (InputStream in = store.open("file-a")) {
      assertThat(digest(in)).isEqualTo(digest(content(2, 100)));
    }
    assertThat(rows("file_chunks")).isEqualTo(1);
  }

  @Test
  void anUploadOverTheLimitKeepsNothing() throws Exception {
    assertThat(store.write("file-b", new java.io.ByteArrayInputStream(new byte[10]), 10))
        .isEqualTo(10);
    assertThatThrownBy(
            () -> store.write("file-c", new java.io.ByteArrayInputStream(new byte[11]), 10))
        .isInstanceOf(FileStore.TooLargeException.class);
    assertThat(store.exists("file-c")).isFalse();
    assertThat(rows("file_blobs")).isEqualTo(1);
  }

  @Test
  void aWriteThatFailsHalfWayLeavesNothingOfItself() throws Exception {
    store.write("file-kept", content(5, 10));
    assertThatThrownBy(
            () ->
                store.write(
                    "file-kept",
                    out -> {
                      content(6, 2 * MIB + 1).write(out);
                      throw new IOException("client gone");
                    }))
        .hasMessage("client gone");
    assertThatThrownBy(
            () ->
                store.write(
                    "file-new",
                    out -> {
                      content(6, 3 * MIB).write(out);
                      throw new IOException("client gone");
                    }))
        .hasMessage("client gone");
    assertThat(store.exists("file-new")).isFalse();
    try (InputStream in = store.open("file-kept")) {
      assertThat(digest(in)).isEqualTo(digest(content(5, 10)));
    }
    assertThat(rows("file_chunks")).isEqualTo(1);
  }

  @Test
  void aFailureInsidePostgresqlRollsTheWholeFileBack() throws Exception {
    // A chunk the database refuses half-way (the second of three): the first is not kept.
    try (Connection c = database.connect();
        Statement s = c.createStatement()) {
      s.execute(
          "ALTER TABLE file_chunks ADD CONSTRAINT no_second_chunk CHECK (seq < 1 OR file_id <>"
              + " 'file-doomed')");
    }
    assertThatThrownBy(() -> store.write("file-doomed", content(9, 2 * MIB + 3)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("storing the bytes of the file file-doomed failed");
    assertThat(store.exists("file-doomed")).isFalse();
    assertThat(rows("file_chunks")).isZero();
    assertThat(rows("file_blobs")).isZero();
  }

  @Test
  void deletingAFileRemovesItsChunks() throws Exception {
    store.write("file-gone", content(4, MIB + 1));
    store.delete("file-gone");
    store.delete("file-gone"); // twice is fine
    assertThat(store.exists("file-gone")).isFalse();
    assertThatThrownBy(() -> store.open("file-gone")).isInstanceOf(NoSuchFileException.class);
    assertThat(rows("file_chunks")).isZero();
  }

  @Test
  void onlyFileIdsNameFiles() {
    assertThatThrownBy(() -> store.exists("../etc/passwd"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
