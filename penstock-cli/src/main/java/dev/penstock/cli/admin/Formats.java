package dev.penstock.cli.admin;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** How the admin commands print numbers and read the loosely typed fields of an answer. */
final class Formats {
  private static final BigDecimal SMALLEST = new BigDecimal("0.00005");

  private Formats() {}

  /**
   * US dollars with two to four decimals: {@code $5.00}, {@code $0.0042}, {@code $12.3457}; a cost
   * of a few requests is a fraction of a cent, which two decimals would show as nothing. Less than
   * that, but not nothing: {@code <$0.0001}.
   */
  static String usd(BigDecimal amount) {
    if (amount.signum() > 0 && amount.compareTo(SMALLEST) < 0) {
      return "<$0.0001";
    }
    BigDecimal rounded = amount.setScale(4, RoundingMode.HALF_UP).stripTrailingZeros();
    if (rounded.scale() < 2) {
      rounded = rounded.setScale(2, RoundingMode.UNNECESSARY);
    }
    return "$" + rounded.toPlainString();
  }

  /** A count with thousands separators: {@code 1,234,567}. */
  static String count(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  /** A limit where 0 means none: {@code 1,200} or {@code -}. */
  static String limit(long n) {
    return n == 0 ? "-" : count(n);
  }

  /** A number field, 0 when absent, null or not a number. */
  static BigDecimal decimal(JsonNode field) {
    if (field.isNumber()) {
      return field.decimalValue();
    }
    if (field.isTextual()) {
      try {
        return new BigDecimal(field.asText());
      } catch (NumberFormatException e) {
        return BigDecimal.ZERO;
      }
    }
    return BigDecimal.ZERO;
  }

  /** A string field, or null when absent or null. */
  static @Nullable String text(JsonNode json, String field) {
    JsonNode value = json.path(field);
    return value.isMissingNode() || value.isNull() ? null : value.asText();
  }
}
