package dev.penstock.server.tenant;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.sqlite.SQLiteConfig;

/**
 * The embedded storage of a single node: one SQLite database file holding the virtual keys, the
 * usage ledger and the Batch API's state, behind {@link #keys()}, {@link #ledger()} and {@link
 * #batches()}; the Batch API's file bytes in the directory {@code files} beside it ({@link
 * #files()}).
 *
 * <h2>Opening</h2>
 *
 * <p>{@link #open} creates the directory and the file on first start, and refuses, with a {@link
 * StorageException} that says why and names the file, a database it must not use: one in use by
 * another Penstock ({@link ProcessLock}) or locked by another process's write transaction (a {@code
 * BEGIN IMMEDIATE} with a short busy timeout), a read-only file or directory, a file that is not a
 * SQLite database or fails {@code PRAGMA quick_check} (up to {@link #FULL_CHECK_MAX_BYTES}), or one
 * whose schema is newer than this binary knows ({@link Migrations}). Then it brings the schema up
 * to date.
 *
 * <h2>Connections</h2>
 *
 * <p>Two, each a {@link LockedConnection}: the writer, for every change (SQLite has one writer at a
 * time, so more connections would only queue on its lock), and a read-only reader for reports and
 * lookups, which in WAL mode reads the last commit without waiting for the writer. {@code
 * synchronous=NORMAL} is WAL's usual setting: a commit survives a crash of the process; a power
 * loss may lose the last commits but never corrupts the file.
 *
 * <p>Thread-safe. {@link #close} closes both connections and releases the lock; the repositories
 * fail after it.
 */
public final class SqliteStorage implements Storage {
  /** The largest database checked in full ({@code PRAGMA quick_check}) at every start. */
  static final long FULL_CHECK_MAX_BYTES = 256L * 1024 * 1024;

  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(SqliteStorage.class);

  /** How long opening waits for another process's write transaction before calling it locked. */
  private static final int OPEN_BUSY_TIMEOUT_MS = 250;

  /** How long a statement waits for another process's write transaction once running. */
  private static final int BUSY_TIMEOUT_MS = 5_000;

  private final Path file;
  private final ProcessLock lock;
  private final LockedConnection writer;
  private final LockedConnection reader;
  private final SqlKeyRepository keys;
  private final SqlLedgerRepository ledger;
  private final dev.penstock.server.batch.SqlBatchStore batches;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Object filesLock = new Object();
  // Guarded by filesLock: created on first use, so that opening the database alone (tools, tests)
  // leaves no directory behind.
  private dev.penstock.server.batch.@Nullable DirectoryFileStore files;

  private SqliteStorage(
      Path file, ProcessLock lock, LockedConnection writer, LockedConnection reader) {
    this.file = file;
    this.lock = lock;
    this.writer = writer;
    this.reader = reader;
    this.keys = new SqlKeyRepository(writer, reader);
    this.ledger = new SqlLedgerRepository(writer, reader);
    this.batches = new dev.penstock.server.batch.SqlBatchStore(writer, reader);
  }

  /**
   * Opens the database at {@code dbFile}, creating it (and its directory) if missing, and migrates
   * its schema to the newest version.
   *
   * @throws StorageException when it cannot be used; the message says why and names the file
   */
  public static SqliteStorage open(Path dbFile) {
    Path file = dbFile.toAbsolutePath().normalize();
    String prefix = "Cannot open the database " + file;
    checkFiles(file, prefix);
    ProcessLock lock = ProcessLock.acquire(file, prefix);
    List<Connection> opened = new ArrayList<>();
    try {
      Connection writerConnection = connect(file, false, opened);
      prepareWriter(writerConnection, prefix);
      LockedConnection writer = new LockedConnection(file.toString(), writerConnection);
      Migrations.apply(writer, file.toString());
      execute(writerConnection, "PRAGMA busy_timeout = " + BUSY_TIMEOUT_MS);
      Connection readerConnection = connect(file, true, opened);
      execute(readerConnection, "PRAGMA busy_timeout = " + BUSY_TIMEOUT_MS);
      return new SqliteStorage(
          file, lock, writer, new LockedConnection(file.toString(), readerConnection));
    } catch (SQLException e) {
      closeAll(opened, lock);
      throw SqliteErrors.explain(prefix, e);
    } catch (RuntimeException e) {
      closeAll(opened, lock);
      throw e;
    }
  }

  /** Refuses early what SQLite would only report later or vaguely ("unable to open"). */
  private static void checkFiles(Path file, String prefix) {
    Path directory = file.getParent();
    if (directory == null) {
      throw new StorageException(prefix + ": it is a root directory, not a file");
    }
    try {
      Files.createDirectories(directory);
    } catch (AccessDeniedException e) {
      throw new StorageException(
          prefix + ": its directory " + directory + " cannot be created (permission denied)", e);
    } catch (IOException e) {
      throw new StorageException(
          prefix + ": its directory " + directory + " cannot be created: " + e, e);
    }
    if (Files.isDirectory(file)) {
      throw new StorageException(prefix + ": it is a directory, not a database file");
    }
    // As root these pass for any file or directory not on a read-only mount; the write
    // transaction in prepareWriter is then what finds a database that cannot be written.
    if (!Files.isWritable(directory)) {
      throw new StorageException(
          prefix
              + ": its directory "
              + directory
              + " is read-only (SQLite writes its -wal and -shm files beside the database)");
    }
    if (Files.exists(file) && !Files.isWritable(file)) {
      throw new StorageException(prefix + ": the file is read-only (Penstock must write to it)");
    }
  }

  private static Connection connect(Path file, boolean readOnly, List<Connection> opened)
      throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setReadOnly(readOnly);
    config.setBusyTimeout(OPEN_BUSY_TIMEOUT_MS);
    Connection connection = config.createConnection("jdbc:sqlite:" + file);
    opened.add(connection);
    return connection;
  }

  /**
   * Sets the writer up, and proves the file usable: a write transaction finds a lock held by
   * another process (or a read-only file), then a quick check finds damage.
   */
  private static void prepareWriter(Connection connection, String prefix) throws SQLException {
    String journal = queryString(connection, "PRAGMA journal_mode = WAL");
    if (!"wal".equalsIgnoreCase(journal)) {
      throw new StorageException(
          prefix + ": SQLite cannot use write-ahead logging on it (journal mode " + journal + ")");
    }
    execute(connection, "PRAGMA synchronous = NORMAL");
    execute(connection, "PRAGMA foreign_keys = ON");
    execute(connection, "BEGIN IMMEDIATE");
    execute(connection, "COMMIT");
    long pages = queryLong(connection, "PRAGMA page_count");
    long pageSize = queryLong(connection, "PRAGMA page_size");
    if (pages * pageSize > FULL_CHECK_MAX_BYTES) {
      // A quick check reads every page: ~0.35 s per 100 MB, minutes for a ledger of months. A
      // damaged header or schema is refused all the same (opening, the migrations, and the keys,
      // read whole at start, would fail); damage deep in old ledger pages shows when a report
      // reads them.
      LOG.info(
          "{}: {} MB, larger than {} MB: the full integrity check at start is skipped",
          prefix.replace("Cannot open the database", "database"),
          pages * pageSize / 1_000_000,
          FULL_CHECK_MAX_BYTES / 1_000_000);
      return;
    }
    // At most three problems: enough to tell, and a badly damaged file stops the check early.
    String check = queryString(connection, "PRAGMA quick_check(3)");
    if (!"ok".equals(check)) {
      throw new StorageException(
          prefix
              + ": it is corrupt (PRAGMA quick_check: "
              + String.valueOf(check).strip().replaceAll("\\s*\\n\\s*", "; ")
              + "); move it away to start with an empty one, or restore a backup");
    }
  }

  private static void execute(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  private static long queryLong(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      return rows.next() ? rows.getLong(1) : 0;
    }
  }

  private static @Nullable String queryString(Connection connection, String sql)
      throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      return rows.next() ? rows.getString(1) : null;
    }
  }

  private static void closeAll(List<Connection> opened, ProcessLock lock) {
    for (Connection connection : opened.reversed()) {
      try {
        connection.close();
      } catch (SQLException e) {
        // the open failed already; that is the error to report
      }
    }
    lock.close();
  }

  /** The database file, absolute. */
  public Path file() {
    return file;
  }

  @Override
  public KeyRepository keys() {
    return keys;
  }

  @Override
  public LedgerRepository ledger() {
    return ledger;
  }

  @Override
  public dev.penstock.server.batch.BatchStore batches() {
    return batches;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Here: the directory {@code files} beside the database, created on first use.
   *
   * @throws StorageException when that directory cannot be created
   */
  @Override
  public dev.penstock.server.batch.DirectoryFileStore files() {
    synchronized (filesLock) {
      dev.penstock.server.batch.DirectoryFileStore store = files;
      if (store == null) {
        Path dir = file.getParent();
        Path directory = (dir == null ? Path.of(".") : dir).resolve("files");
        try {
          store = new dev.penstock.server.batch.DirectoryFileStore(directory);
        } catch (IOException e) {
          throw new StorageException(
              "Cannot create the directory of the Batch API's files " + directory + ": " + e, e);
        }
        files = store;
      }
      return store;
    }
  }

  @Override
  public String describe() {
    return "SQLite " + file;
  }

  /** False: one process at a time ({@link ProcessLock}). */
  @Override
  public boolean shared() {
    return false;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Here: {@code fromEnvironment}, else the file {@code key-secret} beside the database ({@link
   * VirtualKeys#secret}).
   */
  @Override
  public byte[] keySecret(@Nullable String fromEnvironment) {
    Path dir = file.getParent();
    return VirtualKeys.secret(dir == null ? Path.of(".") : dir, fromEnvironment);
  }

  /** Nothing to watch: every change is made by this process, through its {@link VirtualKeys}. */
  @Override
  public void watchKeys(KeyChanges changes) {}

  /** Closes the connections (SQLite checkpoints the WAL into the file) and releases the lock. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      reader.close();
      writer.close();
      lock.close();
    }
  }
}
