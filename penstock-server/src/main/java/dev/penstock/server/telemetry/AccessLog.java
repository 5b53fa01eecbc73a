package dev.penstock.server.telemetry;

import java.nio.charset.StandardCharsets;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * One log line per request on the {@code penstock.access} logger, its fields as SLF4J key-value
 * pairs: the JSON format (logging.format: json) makes each a top-level field, the plain format
 * prints them as {@code key=value} after a short message. The line never carries an upstream key,
 * the client's credential (the tenant is its hash in open mode) or the prompt, unless {@code
 * logging.log_bodies} asks for the request body.
 *
 * <p>Thread-safe. Writing is the logging backend's business; Penstock's configuration queues lines
 * to an asynchronous appender that never drops one, so a request does not wait for the terminal.
 */
public final class AccessLog implements RequestObserver {
  /** The logger's name, for logging configuration: turn it off or route it to its own file. */
  public static final String LOGGER = "penstock.access";

  private static final Logger LOG = LoggerFactory.getLogger(LOGGER);
  private static final int MAX_BODY_CHARS = 16 * 1024;

  private final UnaryOperator<String> redact;

  /**
   * @param redact removes secrets from error messages that came from an upstream
   */
  public AccessLog(UnaryOperator<String> redact) {
    this.redact = redact;
  }

  @Override
  public void completed(RequestRecord r) {
    if (!LOG.isInfoEnabled()) {
      return;
    }
    LoggingEventBuilder line =
        LOG.atInfo()
            .setMessage(
                r.endpoint()
                    + " "
                    + r.status()
                    + " "
                    + r.outcome().label()
                    + " "
                    + millis(r.totalNanos())
                    + " ms")
            .addKeyValue("request_id", r.requestId())
            .addKeyValue("path", r.endpoint())
            .addKeyValue("tenant", r.tenant())
            .addKeyValue("key", r.keyName())
            .addKeyValue("model", r.model())
            .addKeyValue("deployment", r.deployment())
            .addKeyValue("priority", r.priority())
            .addKeyValue("stream", r.stream())
            .addKeyValue("attempts", r.attempts())
            .addKeyValue("status", r.status())
            .addKeyValue("outcome", r.outcome().label())
            .addKeyValue("tokens_in", Math.max(0, r.promptTokens()))
            .addKeyValue("tokens_out", Math.max(0, r.completionTokens()))
            .addKeyValue("tokens_cached", r.cachedTokens())
            .addKeyValue("cost_usd", r.costUsd())
            .addKeyValue("queue_ms", millis(r.queueNanos()))
            .addKeyValue("upstream_ms", millis(r.upstreamNanos()))
            .addKeyValue("ttft_ms", r.firstByteNanos() < 0 ? -1 : millis(r.firstByteNanos()))
            .addKeyValue("total_ms", millis(r.totalNanos()))
            .addKeyValue("cache", r.cache());
    if (r.cacheScore() >= 0) {
      line = line.addKeyValue("cache_score", r.cacheScore());
    }
    if (r.savedTokens() > 0) {
      line =
          line.addKeyValue("saved_tokens", r.savedTokens()).addKeyValue("saved_usd", r.savedUsd());
    }
    if (r.errorCode() != null) {
      line = line.addKeyValue("error_code", r.errorCode());
    }
    String message = r.errorMessage();
    if (message != null) {
      line = line.addKeyValue("error", redact.apply(message));
    }
    String reason = r.rejectedReason();
    if (reason != null) {
      line = line.addKeyValue("rejected", reason);
    }
    byte[] body = r.body();
    if (body != null) {
      String text = new String(body, StandardCharsets.UTF_8);
      line =
          line.addKeyValue(
              "request_body",
              text.length() > MAX_BODY_CHARS ? text.substring(0, MAX_BODY_CHARS) + "…" : text);
    }
    line.log();
  }

  /** Milliseconds with one decimal: sub-millisecond overheads stay visible. */
  private static double millis(long nanos) {
    return Math.round(nanos / 100_000.0) / 10.0;
  }
}
