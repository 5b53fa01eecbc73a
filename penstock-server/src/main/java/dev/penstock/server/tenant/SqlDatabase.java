package dev.penstock.server.tenant;

import java.sql.Connection;
import java.sql.SQLException;
import org.jspecify.annotations.Nullable;

/**
 * Where the SQL repositories run their transactions: the embedded database's {@link
 * LockedConnection}s, or a PostgreSQL connection pool. Each call is one transaction, committed when
 * the work returns and rolled back when it throws; failures come out as {@link StorageException}
 * naming the database (never a password).
 *
 * <p>The repositories are written once for both: their SQL is the common dialect, and where the two
 * databases must differ (row locks, the identity of new rows, the error of a duplicate key) they
 * ask {@link #dialect()}.
 */
public interface SqlDatabase {
  /** The database family, for the few statements that differ. */
  enum Dialect {
    SQLITE,
    POSTGRES;

    /**
     * What ends a {@code SELECT} that reads rows the transaction is about to change: PostgreSQL
     * locks them ({@code FOR UPDATE}: a concurrent writer waits, then sees the change); SQLite
     * needs nothing, its write transaction holds the whole database.
     */
    public String forUpdate() {
      return this == POSTGRES ? " FOR UPDATE" : "";
    }

    /** Whether {@code e} is a unique or primary key violation. */
    public boolean isDuplicate(SQLException e) {
      return this == POSTGRES
          ? "23505".equals(e.getSQLState())
          : SqliteErrors.code(e) == SqliteErrors.CONSTRAINT;
    }
  }

  /**
   * Work inside a transaction; it may throw {@link SQLException}, or a runtime exception. Work done
   * for its effect returns null.
   */
  @FunctionalInterface
  interface Work<T extends @Nullable Object> {
    T run(Connection connection) throws SQLException;
  }

  /**
   * Runs {@code work} in a write transaction; rolls back if it throws.
   *
   * @param what what the work does, for the error message ("appending 500 ledger entries")
   */
  <T extends @Nullable Object> T write(String what, Work<T> work);

  /** Runs {@code work} in a read transaction: all its queries see the same snapshot. */
  <T extends @Nullable Object> T read(String what, Work<T> work);

  /** The database's name for messages: its path, or PostgreSQL's host, port and database. */
  String databaseName();

  Dialect dialect();
}
