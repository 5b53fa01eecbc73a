package dev.penstock.server.tenant;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * One JDBC connection and the lock that makes it safe to share: every use is one transaction, run
 * whole under the lock. SQLite has one writer at a time anyway, and a JDBC connection is not meant
 * for two threads at once; a second connection that only reads lets reports run while the ledger is
 * written (WAL mode: readers see the last commit and do not block the writer).
 */
public final class LockedConnection implements SqlDatabase, AutoCloseable {

  private final String databaseName;
  private final ReentrantLock lock = new ReentrantLock();
  // Guarded by lock.
  private final Connection connection;

  /**
   * @param databaseName names the database in error messages (its path)
   */
  LockedConnection(String databaseName, Connection connection) {
    this.databaseName = databaseName;
    this.connection = connection;
  }

  /** The database's name for messages: its path. */
  @Override
  public String databaseName() {
    return databaseName;
  }

  @Override
  public Dialect dialect() {
    return Dialect.SQLITE;
  }

  /**
   * Runs {@code work} in a write transaction ({@code BEGIN IMMEDIATE}: the write lock is taken at
   * the start, so the transaction cannot fail half-way for want of it); rolls back if it throws.
   *
   * @param what what the work does, for the error message ("appending 500 ledger entries")
   */
  @Override
  public <T extends @Nullable Object> T write(String what, Work<T> work) {
    return inTransaction("BEGIN IMMEDIATE", what, work);
  }

  /** Runs {@code work} in a read transaction: all its queries see the same snapshot. */
  @Override
  public <T extends @Nullable Object> T read(String what, Work<T> work) {
    return inTransaction("BEGIN", what, work);
  }

  private <T extends @Nullable Object> T inTransaction(String begin, String what, Work<T> work) {
    lock.lock();
    try (Statement statement = connection.createStatement()) {
      statement.execute(begin);
      try {
        T result = work.run(connection);
        statement.execute("COMMIT");
        return result;
      } catch (SQLException | RuntimeException e) {
        rollback(statement, e);
        throw e;
      }
    } catch (SQLException e) {
      throw SqliteErrors.explain("Database " + databaseName + ": " + what + " failed", e);
    } finally {
      lock.unlock();
    }
  }

  private static void rollback(Statement statement, Exception cause) {
    try {
      statement.execute("ROLLBACK");
    } catch (SQLException e) {
      // SQLite may have rolled back already (e.g. after SQLITE_FULL); the cause is what matters.
      cause.addSuppressed(e);
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      connection.close();
    } catch (SQLException e) {
      // Closing anyway; SQLite has committed or rolled back every transaction by now.
    } finally {
      lock.unlock();
    }
  }
}
