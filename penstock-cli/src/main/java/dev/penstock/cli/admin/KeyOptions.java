package dev.penstock.cli.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * A virtual key's policy as options, shared by {@code keys create} and {@code keys update}: each
 * option given becomes its field of the JSON body, and an option not given is left out — so that an
 * update changes exactly what the command line names. A picocli mixin.
 */
final class KeyOptions {
  private static final Pattern EXPIRES_IN = Pattern.compile("(\\d+)\\s*(s|m|min|h|d|w)");

  /** The {@code max_priority} values. */
  enum Priority {
    HIGH,
    NORMAL,
    LOW
  }

  @Spec(Spec.Target.MIXEE)
  private CommandSpec command;

  @Option(
      names = "--model",
      paramLabel = "MODEL",
      description = "A public model name the key may use; repeatable. None given: every model.")
  private List<String> models = new ArrayList<>();

  @Option(
      names = "--rpm",
      paramLabel = "N",
      description = "The key's own requests per minute; 0 for no limit.")
  private @Nullable Long rpm;

  @Option(
      names = "--tpm",
      paramLabel = "N",
      description = "The key's own tokens per minute; 0 for no limit.")
  private @Nullable Long tpm;

  @Option(
      names = "--max-priority",
      paramLabel = "PRIORITY",
      description =
          "The highest x-penstock-priority the key may ask for: high, normal or low (a higher"
              + " one is lowered to it).")
  private @Nullable Priority maxPriority;

  @Option(
      names = "--budget-daily",
      paramLabel = "USD",
      description = "The most the key may spend in a UTC day, in US dollars; 0 for no budget.")
  private @Nullable BigDecimal budgetDaily;

  @Option(
      names = "--budget-monthly",
      paramLabel = "USD",
      description = "The most it may spend in a UTC calendar month; 0 for no budget.")
  private @Nullable BigDecimal budgetMonthly;

  @Option(
      names = "--expires",
      paramLabel = "INSTANT",
      description =
          "When the key stops working: an instant such as 2027-01-01T00:00:00Z, or never.")
  private @Nullable String expires;

  @Option(
      names = "--expires-in",
      paramLabel = "TIME",
      description = "The same, from now: e.g. 30d, 12h, 2w (s, m, h, d, w).")
  private @Nullable String expiresIn;

  @Option(
      names = "--metadata",
      paramLabel = "KEY=VALUE",
      description = "A free-form label; repeatable.")
  private Map<String, String> metadata = new LinkedHashMap<>();

  /** Whether no option of the policy was given. */
  boolean isEmpty() {
    return models.isEmpty()
        && rpm == null
        && tpm == null
        && maxPriority == null
        && budgetDaily == null
        && budgetMonthly == null
        && expires == null
        && expiresIn == null
        && metadata.isEmpty();
  }

  boolean hasModels() {
    return !models.isEmpty();
  }

  boolean hasMetadata() {
    return !metadata.isEmpty();
  }

  /**
   * Puts every option given into {@code body} under its API name; a value the gateway would refuse
   * for a reason the command line can see is a usage error (exit 2) instead.
   */
  void putInto(ObjectNode body, Instant now) {
    if (!models.isEmpty()) {
      models.forEach(body.putArray("models")::add);
    }
    if (rpm != null) {
      body.put("rpm", atLeastZero("--rpm", rpm));
    }
    if (tpm != null) {
      body.put("tpm", atLeastZero("--tpm", tpm));
    }
    if (maxPriority != null) {
      body.put("max_priority", maxPriority.name().toLowerCase(Locale.ROOT));
    }
    if (budgetDaily != null) {
      body.put("budget_usd_daily", atLeastZero("--budget-daily", budgetDaily));
    }
    if (budgetMonthly != null) {
      body.put("budget_usd_monthly", atLeastZero("--budget-monthly", budgetMonthly));
    }
    putExpiry(body, now);
    if (!metadata.isEmpty()) {
      ObjectNode pairs = body.putObject("metadata");
      metadata.forEach(pairs::put);
    }
  }

  private void putExpiry(ObjectNode body, Instant now) {
    if (expires != null && expiresIn != null) {
      throw usageError("--expires and --expires-in are exclusive");
    }
    if (expires != null) {
      if (expires.equalsIgnoreCase("never")) {
        body.putNull("expires_at");
      } else {
        body.put("expires_at", instant(expires).toString());
      }
    } else if (expiresIn != null) {
      body.put("expires_at", expiry(now, expiresIn).toString());
    }
  }

  private Instant instant(String text) {
    try {
      return Instant.parse(text); // accepts an offset too: 2027-01-01T00:00:00+02:00
    } catch (DateTimeParseException e) {
      throw usageError(
          "--expires: expected an instant such as 2027-01-01T00:00:00Z, or never; not '"
              + text
              + "'");
    }
  }

  private Instant expiry(Instant now, String text) {
    try {
      return now.plus(duration(text)).truncatedTo(ChronoUnit.SECONDS);
    } catch (ArithmeticException | DateTimeException e) {
      throw usageError("--expires-in: '" + text + "' is too far away");
    }
  }

  private Duration duration(String text) {
    Matcher matcher = EXPIRES_IN.matcher(text.strip().toLowerCase(Locale.ROOT));
    if (!matcher.matches()) {
      throw usageError("--expires-in: expected a time such as 30d, 12h or 2w; not '" + text + "'");
    }
    long n = Long.parseLong(matcher.group(1));
    return switch (matcher.group(2)) {
      case "s" -> Duration.ofSeconds(n);
      case "m", "min" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      case "d" -> Duration.ofDays(n);
      default -> Duration.ofDays(7 * n);
    };
  }

  private long atLeastZero(String option, long value) {
    if (value < 0) {
      throw usageError(option + " must be 0 (no limit) or more, not " + value);
    }
    return value;
  }

  private BigDecimal atLeastZero(String option, BigDecimal value) {
    if (value.signum() < 0) {
      throw usageError(option + " must be 0 (no budget) or more, not " + value.toPlainString());
    }
    return value;
  }

  private ParameterException usageError(String message) {
    return new ParameterException(command.commandLine(), message);
  }
}
