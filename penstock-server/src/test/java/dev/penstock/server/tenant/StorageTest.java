package dev.penstock.server.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StorageTest {
  @TempDir Path dir;

  @Test
  void createsTheDirectoryAndTheDatabaseInWalMode() throws SQLException {
    Path file = dir.resolve("data/tenants/penstock.db");
    try (SqliteStorage storage = SqliteStorage.open(file)) {
      assertThat(storage.file()).isEqualTo(file.toAbsolutePath());
      assertThat(file).isRegularFile();
      try (Connection jdbc = Ledgers.jdbc(file)) {
        assertThat(query(jdbc, "PRAGMA journal_mode")).containsExactly("wal");
        assertThat(query(jdbc, "SELECT version FROM schema_version ORDER BY version"))
            .containsExactly("1", "2", "3");
        assertThat(
                query(
                    jdbc,
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'index')"
                        + " AND name NOT LIKE 'sqlite_%' ORDER BY name"))
            .containsExactly(
                "batch_lines",
                "batch_lines_state",
                "batches",
                "batches_status",
                "files",
                "ledger",
                "ledger_time_ms",
                "schema_version",
                "usage_daily",
                "virtual_keys");
      }
    }
  }

  @Test
  void migrationsRunOnceAndReopeningKeepsTheData() throws SQLException {
    Path file = dir.resolve("penstock.db");
    List<String> applied;
    try (SqliteStorage storage = SqliteStorage.open(file)) {
      storage.keys().insert(SqlKeyRepositoryTest.key("key_1", "hash-1"));
      storage.ledger().append(List.of(Ledgers.numbered(1)));
      try (Connection jdbc = Ledgers.jdbc(file)) {
        applied =
            query(jdbc, "SELECT version || ' ' || applied_at FROM schema_version ORDER BY version");
      }
    }
    for (int reopen = 0; reopen < 2; reopen++) {
      try (SqliteStorage storage = SqliteStorage.open(file)) {
        assertThat(storage.keys().all()).extracting(VirtualKey::id).containsExactly("key_1");
        assertThat(storage.ledger().spendByKey(0)).isEqualTo(Map.of("key-a", 0.5));
        try (Connection jdbc = Ledgers.jdbc(file)) {
          assertThat(
                  query(
                      jdbc,
                      "SELECT version || ' ' || applied_at FROM schema_version ORDER BY version"))
              .hasSize(Migrations.LATEST)
              .isEqualTo(applied);
        }
      }
    }
  }

  @Test
  void aSchemaNewerThanThisBinaryIsRefused() throws SQLException {
    Path file = dir.resolve("penstock.db");
    SqliteStorage.open(file).close();
    try (Connection jdbc = Ledgers.jdbc(file);
        Statement statement = jdbc.createStatement()) {
      statement.execute(
          "INSERT INTO schema_version VALUES ("
              + (Migrations.LATEST + 1)
              + ", '2030-01-01T00:00:00Z')");
    }
    assertThatThrownBy(() -> SqliteStorage.open(file))
        .isInstanceOf(StorageException.class)
        .hasMessage(
            "Cannot open the database "
                + file
                + ": its schema is version "
                + (Migrations.LATEST + 1)
                + ", newer than this Penstock knows (up to version "
                + Migrations.LATEST
                + ")."
                + " A newer Penstock wrote it: run that one, or restore a backup from before the"
                + " upgrade.");
  }

  @Test
  void aDatabaseOpenInThisProcessIsRefusedUntilClosed() {
    Path file = dir.resolve("penstock.db");
    SqliteStorage first = SqliteStorage.open(file);
    assertThatThrownBy(() -> SqliteStorage.open(file))
        .isInstanceOf(StorageException.class)
        .hasMessage("Cannot open the database " + file + ": it is already open in this process");
    first.close();
    SqliteStorage.open(file).close();
  }

  @Test
  void aDatabaseInUseByAnotherProcessIsRefused() throws Exception {
    Path file = dir.resolve("penstock.db");
    SqliteStorage.open(file).close();
    Path lockFile = dir.resolve("penstock.db.lock");
    // Another JVM holds the lock file as another Penstock would, until its stdin closes.
    Path holder = dir.resolve("HoldLock.java");
    Files.writeString(
        holder,
        """
        import java.nio.channels.FileChannel;
        import java.nio.file.Path;
        import java.nio.file.StandardOpenOption;
        class HoldLock {
          public static void main(String[] args) throws Exception {
            try (FileChannel channel = FileChannel.open(
                    Path.of(args[0]), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                var lock = channel.lock()) {
              System.out.println("locked");
              System.in.read();
            }
          }
        }
        """);
    Process process =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                holder.toString(),
                lockFile.toString())
            .redirectErrorStream(true)
            .start();
    try (BufferedReader out =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      assertThat(out.readLine()).isEqualTo("locked");
      assertThatThrownBy(() -> SqliteStorage.open(file))
          .isInstanceOf(StorageException.class)
          .hasMessage(
              "Cannot open the database "
                  + file
                  + ": it is in use by another process — is another Penstock running with this"
                  + " database? (its lock file "
                  + lockFile
                  + " is held)");
    } finally {
      process.getOutputStream().close();
      process.waitFor();
    }
    SqliteStorage.open(file).close();
  }

  @Test
  void aWriteTransactionOfAnotherConnectionIsRefused() throws SQLException {
    Path file = dir.resolve("penstock.db");
    SqliteStorage.open(file).close();
    try (Connection other = Ledgers.jdbc(file);
        Statement statement = other.createStatement()) {
      statement.execute("BEGIN IMMEDIATE");
      statement.execute("INSERT INTO schema_version VALUES (0, 'x')");
      assertThatThrownBy(() -> SqliteStorage.open(file))
          .isInstanceOf(StorageException.class)
          .hasMessage(
              "Cannot open the database "
                  + file
                  + ": it is locked by another process holding a write transaction (another"
                  + " Penstock, or a tool such as sqlite3 in a transaction)");
      statement.execute("ROLLBACK");
    }
    SqliteStorage.open(file).close();
  }

  @Test
  void anExclusiveLockOnANewFileIsRefused() throws SQLException {
    Path file = dir.resolve("penstock.db");
    try (Connection other = Ledgers.jdbc(file);
        Statement statement = other.createStatement()) {
      statement.execute("CREATE TABLE t (x INTEGER)");
      statement.execute("BEGIN EXCLUSIVE");
      statement.execute("INSERT INTO t VALUES (1)");
      assertThatThrownBy(() -> SqliteStorage.open(file))
          .isInstanceOf(StorageException.class)
          .hasMessageStartingWith(
              "Cannot open the database " + file + ": it is locked by another process");
    }
  }

  @Test
  void aReadOnlyFileIsRefused() throws IOException {
    Path file = dir.resolve("penstock.db");
    SqliteStorage.open(file).close();
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r--r--"));
    try {
      assumeFalse(
          Files.isWritable(file),
          "running as root, which may write to any file: a read-only file is no error then");
      assertThatThrownBy(() -> SqliteStorage.open(file))
          .isInstanceOf(StorageException.class)
          .hasMessage(
              "Cannot open the database "
                  + file
                  + ": the file is read-only (Penstock must write to it)");
    } finally {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    }
  }

  @Test
  void aReadOnlyDirectoryIsRefused() throws IOException {
    Path readOnly = Files.createDirectory(dir.resolve("ro"));
    Path file = readOnly.resolve("penstock.db");
    Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-xr-xr-x"));
    try {
      assumeFalse(
          Files.isWritable(readOnly),
          "running as root, which may write to any directory: a read-only one is no error then");
      assertThatThrownBy(() -> SqliteStorage.open(file))
          .isInstanceOf(StorageException.class)
          .hasMessage(
              "Cannot open the database "
                  + file
                  + ": its directory "
                  + readOnly
                  + " is read-only (SQLite writes its -wal and -shm files beside the database)");
    } finally {
      Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }

  @Test
  void aFileOfRandomBytesIsRefused() throws IOException {
    Path file = dir.resolve("penstock.db");
    byte[] noise = new byte[64 * 1024];
    new Random(42).nextBytes(noise);
    Files.write(file, noise);
    assertThatThrownBy(() -> SqliteStorage.open(file))
        .isInstanceOf(StorageException.class)
        .hasMessage(
            "Cannot open the database "
                + file
                + ": it is not a SQLite database, or it is corrupt ([SQLITE_NOTADB] File opened"
                + " that is not a database file (file is not a database)); move it away to start"
                + " with an empty one, or restore a backup");
    assertThat(Files.readAllBytes(file)).isEqualTo(noise);
  }

  @Test
  void aDamagedDatabaseIsRefused() throws IOException {
    Path file = dir.resolve("penstock.db");
    try (SqliteStorage storage = SqliteStorage.open(file)) {
      storage.ledger().append(Ledgers.random(7, 20_000, Ledgers.MARCH_1, 3));
    }
    long size = Files.size(file);
    assertThat(size).isGreaterThan(1 << 20);
    byte[] noise = new byte[16 * 4096];
    new Random(42).nextBytes(noise);
    try (RandomAccessFile raw = new RandomAccessFile(file.toFile(), "rw")) {
      raw.seek(size / 2 / 4096 * 4096); // whole pages in the middle of the ledger
      raw.write(noise);
    }
    assertThatThrownBy(() -> SqliteStorage.open(file))
        .isInstanceOf(StorageException.class)
        .hasMessageStartingWith("Cannot open the database " + file + ": it is ")
        .hasMessageContaining("corrupt")
        .hasMessageEndingWith("move it away to start with an empty one, or restore a backup");
  }

  @Test
  void aDirectoryInPlaceOfTheFileIsRefused() throws IOException {
    Path file = Files.createDirectory(dir.resolve("penstock.db"));
    assertThatThrownBy(() -> SqliteStorage.open(file))
        .isInstanceOf(StorageException.class)
        .hasMessage(
            "Cannot open the database " + file + ": it is a directory, not a database file");
  }

  @Test
  void theRepositoriesFailClearlyAfterClose() {
    Path file = dir.resolve("penstock.db");
    SqliteStorage storage = SqliteStorage.open(file);
    storage.close();
    storage.close();
    assertThatThrownBy(() -> storage.keys().all())
        .isInstanceOf(StorageException.class)
        .hasMessageStartingWith("Database " + file + ": reading the keys failed");
    assertThatThrownBy(() -> storage.ledger().append(List.of(Ledgers.numbered(1))))
        .isInstanceOf(StorageException.class)
        .hasMessageStartingWith("Database " + file + ": appending 1 ledger entries failed");
  }

  @Test
  void theMigrationScriptsAreNumberedInOrder() {
    for (int i = 0; i < Migrations.SCRIPTS.size(); i++) {
      assertThat(Migrations.SCRIPTS.get(i)).startsWith("V" + (i + 1) + "__").endsWith(".sql");
      assertThat(Migrations.statements(Migrations.load(Migrations.SCRIPTS.get(i)))).isNotEmpty();
    }
    assertThat(Migrations.statements(Migrations.load("V1__keys_and_ledger.sql")))
        .extracting(sql -> sql.substring(0, sql.indexOf('(')).strip())
        .containsExactly(
            "CREATE TABLE virtual_keys",
            "CREATE TABLE ledger",
            "CREATE INDEX ledger_time_ms ON ledger",
            "CREATE TABLE usage_daily");
    assertThat(Migrations.statements("-- a; comment\nCREATE TABLE a (x INTEGER); -- b\n;\n"))
        .containsExactly("CREATE TABLE a (x INTEGER)");
  }

  static List<String> query(Connection jdbc, String sql) throws SQLException {
    List<String> values = new ArrayList<>();
    try (Statement statement = jdbc.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      while (rows.next()) {
        values.add(rows.getString(1));
      }
    }
    return values;
  }
}
