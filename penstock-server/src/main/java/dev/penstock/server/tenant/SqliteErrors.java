package dev.penstock.server.tenant;

import java.sql.SQLException;

/**
 * Turns SQLite's result codes into words an operator can act on. SQLite reports a locked, read-only
 * or corrupt database only when a statement first touches the file, so every step of opening goes
 * through {@link #explain}.
 */
final class SqliteErrors {
  // Primary result codes (https://sqlite.org/rescode.html); extended codes keep them in the low
  // byte.
  static final int PERM = 3;
  static final int BUSY = 5;
  static final int LOCKED = 6;
  static final int READONLY = 8;
  static final int IOERR = 10;
  static final int CORRUPT = 11;
  static final int FULL = 13;
  static final int CANTOPEN = 14;
  static final int CONSTRAINT = 19;
  static final int AUTH = 23;
  static final int NOTADB = 26;

  private SqliteErrors() {}

  /** SQLite's primary result code of {@code e}, 0 when it did not come from SQLite. */
  static int code(SQLException e) {
    return e.getErrorCode() & 0xff;
  }

  /** {@code prefix} (e.g. "Cannot open the database /x.db") and what went wrong, in words. */
  static StorageException explain(String prefix, SQLException e) {
    return new StorageException(prefix + ": " + describe(e), e);
  }

  private static String describe(SQLException e) {
    return switch (code(e)) {
      case BUSY, LOCKED ->
          "it is locked by another process holding a write transaction (another Penstock, or a"
              + " tool such as sqlite3 in a transaction)";
      case NOTADB, CORRUPT ->
          "it is not a SQLite database, or it is corrupt ("
              + e.getMessage()
              + "); move it away to start with an empty one, or restore a backup";
      case READONLY, PERM, AUTH ->
          "it is read-only (Penstock must write to the file and to the directory it is in)";
      case CANTOPEN -> "it cannot be opened (" + e.getMessage() + ")";
      case FULL -> "the disk is full";
      case IOERR -> "an I/O error occurred (" + e.getMessage() + ")";
      default -> String.valueOf(e.getMessage());
    };
  }
}
