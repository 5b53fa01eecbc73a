package dev.penstock.server.tenant;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import org.jspecify.annotations.Nullable;

/**
 * Turns PostgreSQL's and the pool's failures into words an operator can act on, naming the server
 * and database, never the password (pgjdbc's messages hold none, and the connection properties turn
 * off the server's detail lines, which may quote values).
 */
final class PostgresErrors {
  private PostgresErrors() {}

  /**
   * {@code e}, which happened while doing {@code what} on {@code url}'s database, as a {@link
   * StorageException}.
   */
  static StorageException explain(PostgresUrl url, String what, Throwable e) {
    String state = e instanceof SQLException s ? s.getSQLState() : null;
    if (unreachable(e, state)) {
      return new StorageException(
          "Cannot reach PostgreSQL at " + url.address() + ": " + reason(e), e);
    }
    if (state != null && (state.equals("28P01") || state.equals("28000"))) {
      return new StorageException(
          "PostgreSQL at "
              + url.address()
              + " refused the login"
              + (url.user() == null ? "" : " of user " + url.user())
              + ": "
              + reason(e),
          e);
    }
    if ("3D000".equals(state)) {
      return new StorageException(
          "Cannot open the database "
              + url.describe()
              + ": it does not exist (create it: CREATE DATABASE "
              + url.database()
              + ")",
          e);
    }
    return new StorageException(
        "Database " + url.describe() + ": " + what + " failed: " + reason(e), e);
  }

  /**
   * A connection that could not be made, or was lost: SQLSTATE class 08, the server shutting down
   * (57P01-57P03), or the pool's timeout waiting for a connection.
   */
  private static boolean unreachable(Throwable e, @Nullable String state) {
    if (e instanceof SQLTransientConnectionException) {
      return true;
    }
    if (state == null) {
      Throwable cause = e.getCause();
      return cause instanceof SQLException s
          && s.getSQLState() != null
          && unreachable(cause, s.getSQLState());
    }
    return state.startsWith("08") || state.startsWith("57P");
  }

  /** The most specific message: the deepest cause's that has one. */
  private static String reason(Throwable e) {
    String message = e.getMessage();
    Throwable c = e.getCause();
    for (int depth = 0; c != null && depth < 10; depth++, c = c.getCause()) {
      if (c.getMessage() != null) {
        message = c.getMessage();
      }
    }
    return String.valueOf(message).strip();
  }
}
