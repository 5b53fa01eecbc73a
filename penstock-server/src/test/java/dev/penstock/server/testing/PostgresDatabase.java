package dev.penstock.server.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A fresh PostgreSQL database for one test on the machine's server (127.0.0.1:5432, user {@code
 * postgres}, trust authentication), created through the {@code postgres} database under a unique
 * random name and dropped {@code WITH (FORCE)} on {@link #close} — the gateways a test killed may
 * still hold connections to it.
 */
public final class PostgresDatabase implements AutoCloseable {
  private static final String ADMIN_JDBC = "jdbc:postgresql://127.0.0.1:5432/postgres";
  private static final String USER = "postgres";

  private final String name;

  private PostgresDatabase(String name) {
    this.name = name;
  }

  /** Creates {@code <prefix>_<16 random hex digits>}. */
  public static PostgresDatabase create(String prefix) {
    byte[] random = new byte[8];
    ThreadLocalRandom.current().nextBytes(random);
    String name = prefix + "_" + HexFormat.of().formatHex(random);
    if (!name.matches("[a-z0-9_]{1,63}")) {
      throw new IllegalArgumentException("not a plain database name: " + name);
    }
    execute("CREATE DATABASE " + name);
    return new PostgresDatabase(name);
  }

  public String name() {
    return name;
  }

  /**
   * {@code postgresql://postgres@127.0.0.1:5432/<name>}, the form of {@code storage.postgres_url}.
   */
  public String url() {
    return "postgresql://" + USER + "@127.0.0.1:5432/" + name;
  }

  /** {@code jdbc:postgresql://127.0.0.1:5432/<name>}, for a test's own queries. */
  public String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:5432/" + name;
  }

  public Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl(), USER, "");
  }

  private static void execute(String sql) {
    try (Connection admin = DriverManager.getConnection(ADMIN_JDBC, USER, "");
        Statement statement = admin.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw new AssertionError(
          "PostgreSQL at 127.0.0.1:5432 (user postgres) refused '"
              + sql
              + "' (is it running? scripts/services.sh starts it): "
              + e.getMessage(),
          e);
    }
  }

  @Override
  public void close() {
    execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }
}
