package dev.penstock.server.telemetry;

import java.util.Collection;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * Removes secrets from text that came from outside Penstock (an upstream's error message) before it
 * is logged or shown: every configured upstream key, and anything shaped like an API key (OpenAI's
 * {@code sk-...}, masked or not, and Penstock's virtual keys {@code pk-...}). Penstock's own
 * messages never contain a key; this guards against an upstream that echoes one.
 */
public final class Redactor implements UnaryOperator<String> {
  private static final Pattern KEY_SHAPED =
      Pattern.compile("\\b(sk|pk)-[A-Za-z0-9_*.\\-]{3,}[A-Za-z0-9_*]");
  private static final String REDACTED = "[redacted]";

  private final Supplier<? extends Collection<String>> secrets;

  /**
   * @param secrets the configured upstream keys now (a reload may change them)
   */
  public Redactor(Supplier<? extends Collection<String>> secrets) {
    this.secrets = secrets;
  }

  @Override
  public String apply(String text) {
    String clean = text;
    for (String secret : secrets.get()) {
      if (secret.length() >= 4 && clean.contains(secret)) {
        clean = clean.replace(secret, REDACTED);
      }
    }
    // Most text (every relayed header) holds no key: the literal test spares it a Matcher.
    if (!clean.contains("sk-") && !clean.contains("pk-")) {
      return clean;
    }
    return KEY_SHAPED.matcher(clean).replaceAll(REDACTED);
  }
}
