package dev.penstock.mock;

/** OpenAI's error answers, worded as OpenAI words them, and Azure OpenAI's own few. */
final class MockErrors {
  static final String ORGANIZATION = "org-penstock-mock";
  private static final String NO_KEY =
      "You didn't provide an API key. You need to provide your API key in an Authorization header"
          + " using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key"
          + " from https://platform.openai.com/account/api-keys.";
  static final String BAD_GATEWAY_HTML =
      "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad"
          + " Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n";
  private static final String LIMITS_URL =
      " Visit https://platform.openai.com/account/rate-limits to learn more.";

  private MockErrors() {}

  static ApiException noKey() {
    return new ApiException(401, "invalid_request_error", NO_KEY, null, null);
  }

  static ApiException invalidKey(String secret) {
    return new ApiException(
        401,
        "invalid_request_error",
        "Incorrect API key provided: "
            + mask(secret)
            + ". You can find your API key at https://platform.openai.com/account/api-keys.",
        null,
        "invalid_api_key");
  }

  static ApiException rateLimited(String model, SlidingWindowLimiter.RateLimited r) {
    String which =
        r.limitType().equals("requests") ? "requests per min (RPM)" : "tokens per min (TPM)";
    return new ApiException(
        429,
        r.limitType(),
        "Rate limit reached for "
            + model
            + " in organization "
            + ORGANIZATION
            + " on "
            + which
            + ": Limit "
            + r.limit()
            + ", Used "
            + r.used()
            + ", Requested "
            + r.requested()
            + ". Please try again in "
            + OpenAiDurations.format(r.retryAfterNanos())
            + "."
            + LIMITS_URL,
        null,
        "rate_limit_exceeded");
  }

  static ApiException tooLarge(String model, SlidingWindowLimiter.TooLarge t) {
    return new ApiException(
        429,
        "tokens",
        "Request too large for "
            + model
            + " in organization "
            + ORGANIZATION
            + " on tokens per min (TPM): Limit "
            + t.limit()
            + ", Requested "
            + t.requested()
            + ". The input or output tokens must be reduced in order to run successfully."
            + LIMITS_URL,
        null,
        "rate_limit_exceeded");
  }

  static ApiException insufficientQuota() {
    return new ApiException(
        429,
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details. For more"
            + " information on this error, read the docs:"
            + " https://platform.openai.com/docs/guides/error-codes/api-errors.",
        null,
        "insufficient_quota");
  }

  static ApiException serverError() {
    return new ApiException(
        500,
        "server_error",
        "The server had an error while processing your request. Sorry about that!",
        null,
        null);
  }

  static ApiException overloaded() {
    return new ApiException(
        503,
        "server_error",
        "The engine is currently overloaded, please try again later.",
        null,
        null);
  }

  /**
   * Azure's answer to an unknown key, or none, on its URLs ({@code 401}, code {@code "401"}), as
   * Azure OpenAI words it.
   */
  static ApiException azureAccessDenied() {
    return ApiException.azure(
        401,
        "401",
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide"
            + " a valid key for an active subscription and use a correct regional API endpoint for"
            + " your resource.");
  }

  /**
   * Azure's answer to a URL it does not serve — including a known path without its required {@code
   * api-version} query parameter: {@code 404 {"error": {"code": "404", "message": "Resource not
   * found"}}}.
   */
  static ApiException azureNotFound() {
    return ApiException.azure(404, "404", "Resource not found");
  }

  /** Shows no more of a wrong key than its last four characters. */
  static String mask(String secret) {
    return secret.length() <= 8
        ? "****"
        : secret.substring(0, 3) + "****" + secret.substring(secret.length() - 4);
  }
}
