package dev.penstock.server.testing;

import dev.penstock.server.tenant.PostgresStorage;
import dev.penstock.server.tenant.PostgresUrl;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.Properties;

/**
 * A fresh PostgreSQL database for one test, on the loopback server (trust authentication, user
 * {@code postgres}): created by {@link #create()} as {@code penstock_t_<random>} through the {@code
 * postgres} database, dropped by {@link #close()} ({@code WITH (FORCE)}: connections a failed test
 * left open do not keep it). The name is random, not seeded: it only has to differ from every other
 * test's, in this run and in others beside it.
 */
public final class PostgresDatabase implements AutoCloseable {
  /** The server's maintenance database, through which test databases are made and dropped. */
  public static final String ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres";

  private static final SecureRandom NAMES = new SecureRandom();

  private final String name;

  private PostgresDatabase(String name) {
    this.name = name;
  }

  /** Creates a new, empty database. */
  public static PostgresDatabase create() {
    byte[] random = new byte[6];
    NAMES.nextBytes(random);
    String name = "penstock_t_" + HexFormat.of().formatHex(random);
    admin("CREATE DATABASE " + name);
    return new PostgresDatabase(name);
  }

  public String name() {
    return name;
  }

  /** Its libpq URL, as {@code storage.postgres_url} takes it. */
  public String url() {
    return "postgresql://postgres@127.0.0.1:5432/" + name;
  }

  /** Opens Penstock's storage on it (migrating it); the caller closes it. */
  public PostgresStorage open() {
    return PostgresStorage.open(PostgresUrl.parse(url()));
  }

  /** A plain JDBC connection to it (autocommit), beside whatever the storage has open. */
  public Connection connect() throws SQLException {
    return jdbc(url());
  }

  /** Drops the database, whatever is still connected to it. */
  @Override
  public void close() {
    admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }

  private static void admin(String sql) {
    try (Connection connection = jdbc(ADMIN_URL);
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "PostgreSQL at 127.0.0.1:5432 (user postgres) is needed by this test: " + e.getMessage(),
          e);
    }
  }

  private static Connection jdbc(String url) throws SQLException {
    PostgresUrl parsed = PostgresUrl.parse(url);
    Properties properties = parsed.properties();
    return DriverManager.getConnection(parsed.jdbcUrl(), properties);
  }
}
