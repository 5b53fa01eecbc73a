package dev.penstock.server.tenant;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.jspecify.annotations.Nullable;

/**
 * PostgreSQL through a small HikariCP pool: each {@link #write} or {@link #read} borrows a
 * connection for one transaction and gives it back.
 *
 * <h2>Sizing</h2>
 *
 * <p>{@link #POOL_SIZE} connections per instance: every transaction here is short (a claim, a
 * line's result, a ledger group, a 1 MiB chunk), so a few connections carry hundreds of them a
 * second, and three instances stay far below PostgreSQL's default {@code max_connections} of 100.
 * The key listener's connection is apart from the pool (it never returns).
 *
 * <h2>Transactions</h2>
 *
 * <p>Writes run at {@code READ COMMITTED}, the repositories locking the rows they read to change
 * ({@link SqlDatabase.Dialect#forUpdate}); reads at {@code REPEATABLE READ, READ ONLY}, so that a
 * report's queries see one snapshot, as SQLite's reader does.
 */
final class PooledPostgres implements SqlDatabase, AutoCloseable {
  /** Connections per instance. */
  static final int POOL_SIZE = 8;

  private final PostgresUrl url;
  private final HikariDataSource pool;

  private PooledPostgres(PostgresUrl url, HikariDataSource pool) {
    this.url = url;
    this.pool = pool;
  }

  /**
   * A pool on {@code url}'s database, with one connection made now (so that an unreachable server
   * or a refused login stops the start with a clear message).
   *
   * @throws StorageException when the first connection cannot be made
   */
  static PooledPostgres open(PostgresUrl url) {
    HikariConfig config = new HikariConfig();
    config.setPoolName("penstock-postgres"); // shown in the pool's logs and errors: no secret
    config.setJdbcUrl(url.jdbcUrl());
    config.setDriverClassName("org.postgresql.Driver");
    config.setDataSourceProperties(url.properties());
    config.setMaximumPoolSize(POOL_SIZE);
    config.setMinimumIdle(2);
    config.setAutoCommit(false);
    config.setConnectionTimeout(5_000); // waiting for a free connection, or a new one
    config.setValidationTimeout(2_000);
    config.setIdleTimeout(300_000);
    config.setMaxLifetime(1_800_000);
    config.setKeepaliveTime(60_000);
    config.setInitializationFailTimeout(1); // fail at once when the first connection fails
    try {
      return new PooledPostgres(url, new HikariDataSource(config));
    } catch (RuntimeException e) {
      // Hikari's PoolInitializationException wraps the driver's SQLException.
      throw PostgresErrors.explain(url, "connecting", e.getCause() == null ? e : e.getCause());
    }
  }

  PostgresUrl url() {
    return url;
  }

  @Override
  public String databaseName() {
    return url.describe();
  }

  @Override
  public Dialect dialect() {
    return Dialect.POSTGRES;
  }

  @Override
  public <T extends @Nullable Object> T write(String what, Work<T> work) {
    return inTransaction(null, what, work);
  }

  @Override
  public <T extends @Nullable Object> T read(String what, Work<T> work) {
    return inTransaction("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", what, work);
  }

  private <T extends @Nullable Object> T inTransaction(
      @Nullable String setup, String what, Work<T> work) {
    try (Connection connection = pool.getConnection()) {
      try {
        if (setup != null) {
          try (Statement statement = connection.createStatement()) {
            statement.execute(setup);
          }
        }
        T result = work.run(connection);
        connection.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        rollback(connection, e);
        throw e;
      }
    } catch (SQLException e) {
      throw PostgresErrors.explain(url, what, e);
    }
  }

  private static void rollback(Connection connection, Exception cause) {
    try {
      connection.rollback();
    } catch (SQLException e) {
      cause.addSuppressed(e); // a lost connection: the server rolled back already
    }
  }

  /** A connection of its own, outside the pool (the key listener's); the caller closes it. */
  Connection connectDirectly() throws SQLException {
    // Through DriverManager (pgjdbc registers itself): the driver's class, annotated with the
    // Checker Framework's qualifiers, is not compiled against.
    return java.sql.DriverManager.getConnection(url.jdbcUrl(), url.properties());
  }

  @Override
  public void close() {
    pool.close();
  }
}
