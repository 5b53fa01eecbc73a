package dev.penstock.server.tenant;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The schema's versioned migrations: SQL scripts on the classpath ({@code migrations/V<n>__*.sql}
 * beside this class for SQLite, {@code migrations/postgres/V<n>__*.sql} for PostgreSQL: the same
 * versions, each dialect's spelling), applied in order, each in its own transaction together with
 * its row in {@code schema_version}. The applied versions live in a table rather than SQLite's
 * {@code user_version} so that PostgreSQL runs them the same way.
 *
 * <p>On PostgreSQL several instances may start at once: every migration transaction first takes a
 * transaction-scoped advisory lock ({@link #POSTGRES_LOCK}), so one applies each version and the
 * others, waiting, then find it applied (SQLite's {@code BEGIN IMMEDIATE} does the same there).
 *
 * <p>A database with a version this binary does not know was migrated by a newer Penstock; it is
 * refused rather than used, since the newer schema may mean something this code would break.
 */
final class Migrations {
  /** Every script, oldest first; script {@code i} (from 0) is version {@code i + 1}. */
  static final List<String> SCRIPTS =
      List.of("V1__keys_and_ledger.sql", "V2__cache_savings.sql", "V3__batches.sql");

  /** The newest schema version this binary knows. */
  static final int LATEST = SCRIPTS.size();

  /** The advisory lock migrations on PostgreSQL hold (an arbitrary constant: "pnstk" in ASCII). */
  static final long POSTGRES_LOCK = 0x706e73746bL;

  private Migrations() {}

  /**
   * Brings the schema up to {@link #LATEST}; does nothing when it is there already.
   *
   * @throws StorageException when the database's schema is newer than {@link #LATEST}
   */
  static void apply(SqlDatabase writer, String databaseName) {
    int current =
        writer.write(
            "reading the schema version",
            connection -> {
              lock(writer, connection);
              try (Statement statement = connection.createStatement()) {
                statement.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version"
                        + " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
              }
              return currentVersion(connection);
            });
    if (current > LATEST) {
      throw new StorageException(
          "Cannot open the database "
              + databaseName
              + ": its schema is version "
              + current
              + ", newer than this Penstock knows (up to version "
              + LATEST
              + "). A newer Penstock wrote it: run that one, or restore a backup from before the"
              + " upgrade.");
    }
    for (int version = current + 1; version <= LATEST; version++) {
      String script = SCRIPTS.get(version - 1);
      List<String> statements = statements(load(directory(writer) + script));
      int applying = version;
      writer.write(
          "applying migration " + script,
          connection -> {
            lock(writer, connection);
            // Re-read under the write lock: the version read above may be stale by now.
            if (currentVersion(connection) >= applying) {
              return null;
            }
            try (Statement statement = connection.createStatement()) {
              for (String sql : statements) {
                statement.execute(sql);
              }
            }
            try (PreparedStatement insert =
                connection.prepareStatement(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)")) {
              insert.setInt(1, applying);
              insert.setString(2, Instant.now().toString());
              insert.executeUpdate();
            }
            return null;
          });
    }
  }

  /** Where the dialect's scripts are, below {@code migrations/}. */
  static String directory(SqlDatabase database) {
    return database.dialect() == SqlDatabase.Dialect.POSTGRES ? "postgres/" : "";
  }

  /** On PostgreSQL, waits for the migration lock, held until the transaction ends. */
  private static void lock(SqlDatabase database, Connection connection) throws SQLException {
    if (database.dialect() == SqlDatabase.Dialect.POSTGRES) {
      try (PreparedStatement lock =
          connection.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
        lock.setLong(1, POSTGRES_LOCK);
        lock.execute();
      }
    }
  }

  /** The highest version applied, 0 for a new database. */
  static int currentVersion(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT MAX(version) FROM schema_version")) {
      return rows.next() ? rows.getInt(1) : 0; // MAX of no rows is NULL, which getInt reads as 0
    }
  }

  /**
   * The statements of a script: {@code --} comments removed, split at semicolons. Enough for DDL
   * scripts whose comments and literals hold neither {@code --} nor {@code ;}.
   */
  static List<String> statements(String script) {
    StringBuilder code = new StringBuilder();
    for (String line : script.split("\n", -1)) {
      int comment = line.indexOf("--");
      code.append(comment < 0 ? line : line.substring(0, comment)).append('\n');
    }
    List<String> statements = new ArrayList<>();
    for (String statement : code.toString().split(";", -1)) {
      if (!statement.isBlank()) {
        statements.add(statement.strip());
      }
    }
    return statements;
  }

  static String load(String script) {
    try (InputStream in = Migrations.class.getResourceAsStream("migrations/" + script)) {
      if (in == null) {
        throw new IllegalStateException("migration " + script + " is missing from the classpath");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read migration " + script, e);
    }
  }
}
