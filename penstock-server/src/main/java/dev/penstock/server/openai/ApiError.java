package dev.penstock.server.openai;

import org.jspecify.annotations.Nullable;

/**
 * An error answered to the client in OpenAI's shape: {@code {"error": {"message", "type", "param",
 * "code"}}}. Thrown anywhere in the pipeline; turned into a response in exactly one place ({@link
 * dev.penstock.server.pipeline.ErrorResponses}). Its message never contains a credential.
 */
public final class ApiError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String type;
  private final @Nullable String param;
  private final @Nullable String code;
  private final long retryAfterMillis;

  /**
   * An error with every field given.
   *
   * @param retryAfterMillis for {@code 429}/{@code 503}: when a retry makes sense, or -1
   */
  public ApiError(
      int status,
      String type,
      String message,
      @Nullable String param,
      @Nullable String code,
      long retryAfterMillis) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
    this.retryAfterMillis = retryAfterMillis;
  }

  public static ApiError invalid(String message, @Nullable String param, @Nullable String code) {
    return new ApiError(400, "invalid_request_error", message, param, code, -1);
  }

  public static ApiError notFound(String message, @Nullable String param, @Nullable String code) {
    return new ApiError(404, "invalid_request_error", message, param, code, -1);
  }

  /** An unknown model; the name is quoted at most 256 characters long, a body may hold more. */
  public static ApiError modelNotFound(String model) {
    String quoted = model.length() > 256 ? model.substring(0, 256) + "..." : model;
    return notFound(
        "The model '" + quoted + "' does not exist or you do not have access to it.",
        "model",
        "model_not_found");
  }

  public int status() {
    return status;
  }

  public String type() {
    return type;
  }

  public @Nullable String param() {
    return param;
  }

  public @Nullable String code() {
    return code;
  }

  public long retryAfterMillis() {
    return retryAfterMillis;
  }
}
