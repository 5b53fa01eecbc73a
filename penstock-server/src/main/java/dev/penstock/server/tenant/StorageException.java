package dev.penstock.server.tenant;

/**
 * The storage cannot do what was asked: the database cannot be opened (locked by another process,
 * read-only, corrupt, written by a newer Penstock) or a statement failed (disk full, a duplicate
 * key). The message says which and names the database file, so that it can be shown to the operator
 * as it is, without a stack trace.
 */
public final class StorageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StorageException(String message) {
    super(message);
  }

  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
