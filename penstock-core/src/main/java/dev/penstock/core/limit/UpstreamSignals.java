package dev.penstock.core.limit;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * What an upstream answer tells about its key: {@code x-ratelimit-*} headers, {@code
 * retry-after-ms} and {@code retry-after}, and the kind of a {@code 429}. Providers disagree on
 * details; every parser here is lenient and answers "unknown" ({@code -1}) rather than fail.
 *
 * <p>Plain text in, numbers out — no HTTP types: it lives in core so that the gateway and the
 * embedded library ({@code penstock-embedded}) read an upstream's signals the same way.
 */
public final class UpstreamSignals {
  private static final Pattern DURATION_PART =
      Pattern.compile("(\\d+(?:\\.\\d+)?)(h|ms|m|s|us|µs|ns)");
  private static final Pattern TRY_AGAIN =
      Pattern.compile("try again in ((?:\\d+(?:\\.\\d+)?(?:h|ms|m|s))+)");

  /**
   * The longest wait an upstream may ask for ({@code Retry-After}, {@code retry-after-ms}): a
   * cool-down is clamped to it, so that an absurd value (a billion seconds once set a 31-year
   * cool-down) costs at most a few minutes; an operator who wants longer disables the deployment.
   */
  public static final long MAX_RETRY_AFTER_NANOS = 5 * 60 * 1_000_000_000L;

  /** The longest reset time believed from {@code x-ratelimit-reset-*} (a day's limits reset). */
  public static final long MAX_RESET_NANOS = 24 * 60 * 60 * 1_000_000_000L;

  private UpstreamSignals() {}

  /** What kind of {@code 429} an upstream sent. */
  public enum TooMany {
    /** The key's rate limit: cool down and try again later (elsewhere). */
    RATE_LIMIT,
    /** The request alone exceeds the key's limit: the client's error, never retried. */
    TOO_LARGE,
    /** The account is out of credit: take the deployment out until an operator re-enables it. */
    INSUFFICIENT_QUOTA
  }

  /** Classifies a {@code 429} by its body's {@code error.code}/{@code type} and message. */
  public static TooMany classify(@Nullable String code, @Nullable String type, String message) {
    if ("insufficient_quota".equals(code) || "insufficient_quota".equals(type)) {
      return TooMany.INSUFFICIENT_QUOTA;
    }
    if (message.startsWith("Request too large")) {
      return TooMany.TOO_LARGE;
    }
    return TooMany.RATE_LIMIT;
  }

  /** The {@code x-ratelimit-*} headers; {@code header} returns a header's first value. */
  public static RateLimitObservation rateLimits(Function<String, Optional<String>> header) {
    long limitRequests = number(header, "x-ratelimit-limit-requests");
    long limitTokens = number(header, "x-ratelimit-limit-tokens");
    boolean requestsKnown = limitRequests > 0;
    boolean tokensKnown = limitTokens > 0;
    return new RateLimitObservation(
        requestsKnown ? limitRequests : RateLimitObservation.UNKNOWN,
        tokensKnown ? limitTokens : RateLimitObservation.UNKNOWN,
        requestsKnown
            ? number(header, "x-ratelimit-remaining-requests")
            : RateLimitObservation.UNKNOWN,
        tokensKnown ? number(header, "x-ratelimit-remaining-tokens") : RateLimitObservation.UNKNOWN,
        requestsKnown
            ? duration(header.apply("x-ratelimit-reset-requests").orElse(""))
            : RateLimitObservation.UNKNOWN,
        tokensKnown
            ? duration(header.apply("x-ratelimit-reset-tokens").orElse(""))
            : RateLimitObservation.UNKNOWN);
  }

  /**
   * How long the upstream asks to wait: {@code retry-after-ms} first, then {@code retry-after}
   * (seconds or an HTTP date), then "try again in 1.5s" in the error message; -1 if none says
   * anything usable (a negative, infinite or unreadable value is not). At most {@link
   * #MAX_RETRY_AFTER_NANOS}.
   */
  public static long retryAfterNanos(
      Function<String, Optional<String>> header, String message, long nowEpochMillis) {
    long wait = askedWaitNanos(header, message, nowEpochMillis);
    return wait < 0 ? -1 : Math.min(wait, MAX_RETRY_AFTER_NANOS);
  }

  private static long askedWaitNanos(
      Function<String, Optional<String>> header, String message, long nowEpochMillis) {
    Optional<String> millis = header.apply("retry-after-ms");
    if (millis.isPresent()) {
      try {
        double value = Double.parseDouble(millis.get().trim());
        if (Double.isFinite(value) && value >= 0) { // Infinity once overflowed into no wait at all
          return (long) Math.min(value * 1_000_000, Long.MAX_VALUE / 2.0);
        }
      } catch (NumberFormatException e) {
        // fall through to the next source
      }
    }
    Optional<String> after = header.apply("retry-after");
    if (after.isPresent()) {
      String text = after.get().trim();
      try {
        double seconds = Double.parseDouble(text);
        if (Double.isFinite(seconds) && seconds >= 0) {
          return (long) Math.min(seconds * 1_000_000_000L, Long.MAX_VALUE / 2.0);
        }
      } catch (NumberFormatException e) {
        try {
          long at =
              ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME)
                  .toInstant()
                  .toEpochMilli();
          return Math.min(Math.max(0, at - nowEpochMillis), Long.MAX_VALUE / 2_000_000) * 1_000_000;
        } catch (DateTimeParseException ignored) {
          // fall through
        }
      }
    }
    Matcher m = TRY_AGAIN.matcher(message);
    return m.find() ? duration(m.group(1)) : -1;
  }

  /**
   * Parses OpenAI's duration format ({@code 20ms}, {@code 1s}, {@code 1.5s}, {@code 6m0s}, {@code
   * 1h2m3s}) or a plain number of seconds, at most {@link #MAX_RESET_NANOS}; -1 for anything else,
   * {@code -1} and {@code 0} included.
   */
  public static long duration(String text) {
    long nanos = parseDuration(text);
    return nanos < 0 ? nanos : Math.min(nanos, MAX_RESET_NANOS);
  }

  private static long parseDuration(String text) {
    String trimmed = text.trim();
    if (trimmed.isEmpty() || trimmed.equals("-1") || trimmed.equals("0")) {
      return RateLimitObservation.UNKNOWN;
    }
    try {
      double seconds = Double.parseDouble(trimmed);
      return Double.isFinite(seconds) && seconds > 0
          ? (long) Math.min(seconds * 1e9, Long.MAX_VALUE / 2.0)
          : RateLimitObservation.UNKNOWN;
    } catch (NumberFormatException e) {
      // a duration with units
    }
    Matcher m = DURATION_PART.matcher(trimmed);
    double nanos = 0;
    int consumed = 0;
    while (m.find()) {
      if (m.start() != consumed) {
        return RateLimitObservation.UNKNOWN;
      }
      consumed = m.end();
      double value = Double.parseDouble(m.group(1));
      nanos +=
          switch (m.group(2)) {
            case "h" -> value * 3600e9;
            case "m" -> value * 60e9;
            case "s" -> value * 1e9;
            case "ms" -> value * 1e6;
            case "us", "µs" -> value * 1e3;
            default -> value;
          };
    }
    return consumed == trimmed.length() && nanos > 0 && Double.isFinite(nanos)
        ? (long) Math.min(nanos, Long.MAX_VALUE / 2.0)
        : RateLimitObservation.UNKNOWN;
  }

  private static long number(Function<String, Optional<String>> header, String name) {
    try {
      return header
          .apply(name)
          .map(String::trim)
          .map(Long::parseLong)
          .orElse(RateLimitObservation.UNKNOWN);
    } catch (NumberFormatException e) {
      return RateLimitObservation.UNKNOWN;
    }
  }
}
