package dev.penstock.mock;

import org.jspecify.annotations.Nullable;

/** An error answered in OpenAI's shape; thrown while reading a request, caught by the handler. */
final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String type;
  private final @Nullable String param;
  private final @Nullable String code;

  ApiException(
      int status, String type, String message, @Nullable String param, @Nullable String code) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }

  static ApiException invalid(String message, @Nullable String param, @Nullable String code) {
    return new ApiException(400, "invalid_request_error", message, param, code);
  }

  int status() {
    return status;
  }

  String type() {
    return type;
  }

  @Nullable String param() {
    return param;
  }

  @Nullable String code() {
    return code;
  }
}
