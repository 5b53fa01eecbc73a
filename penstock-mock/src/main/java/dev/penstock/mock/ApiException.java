package dev.penstock.mock;

import org.jspecify.annotations.Nullable;

/**
 * An error answer; thrown while reading a request, caught by the handler, which writes it in
 * OpenAI's shape ({@code message, type, param, code}) or, for the errors Azure OpenAI's front door
 * answers itself, in Azure's shorter one ({@code code, message}).
 */
final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String type;
  private final String message;
  private final @Nullable String param;
  private final @Nullable String code;
  private final boolean azureShape;

  ApiException(
      int status, String type, String message, @Nullable String param, @Nullable String code) {
    this(status, type, message, param, code, false);
  }

  private ApiException(
      int status,
      String type,
      String message,
      @Nullable String param,
      @Nullable String code,
      boolean azureShape) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.message = message;
    this.param = param;
    this.code = code;
    this.azureShape = azureShape;
  }

  static ApiException invalid(String message, @Nullable String param, @Nullable String code) {
    return new ApiException(400, "invalid_request_error", message, param, code);
  }

  /** A 400 for a value the configuration validation refused; its message names the field. */
  static ApiException invalid(IllegalArgumentException e) {
    String message = e.getMessage();
    return invalid(message != null ? message : e.toString(), null, null);
  }

  /** An error in Azure's shape: {@code {"error": {"code": code, "message": message}}}. */
  static ApiException azure(int status, String code, String message) {
    return new ApiException(status, "", message, null, code, true);
  }

  /** Never null, unlike {@link Throwable#getMessage()} in general: every answer has a message. */
  @Override
  public String getMessage() {
    return message;
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

  boolean azureShape() {
    return azureShape;
  }
}
