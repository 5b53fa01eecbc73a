package dev.penstock.cli.admin;

/**
 * A call to the admin API that did not succeed: an error answer, a gateway out of reach, an answer
 * that is not JSON. The message is one line for the user, without the admin key; the launcher
 * prints it and exits with 1.
 */
public final class AdminException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  AdminException(String message) {
    super(message);
  }

  AdminException(String message, Throwable cause) {
    super(message, cause);
  }
}
