package dev.penstock.cli.bench;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One extra request header from {@code --header 'name: value'}. It replaces a default header of the
 * same name ({@code Content-Type}, {@code Authorization}, {@code User-Agent}).
 */
public record Header(String name, String value) {
  // RFC 9110 token characters: anything else cannot be a header name.
  private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

  /** Headers that describe the connection or the body's framing, which the client must own. */
  private static final Set<String> RESERVED =
      Set.of(
          "connection",
          "content-length",
          "expect",
          "host",
          "keep-alive",
          "te",
          "trailer",
          "transfer-encoding",
          "upgrade");

  public Header {
    if (!TOKEN.matcher(name).matches()) {
      throw new IllegalArgumentException("invalid header name '" + name + "'");
    }
    if (RESERVED.contains(name.toLowerCase(Locale.ROOT))) {
      throw new IllegalArgumentException(
          "header '" + name + "' cannot be set: the HTTP client manages it");
    }
    if (value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0) {
      throw new IllegalArgumentException("header '" + name + "' must not contain a line break");
    }
  }

  /** Parses {@code name: value}, as curl's {@code -H} does. */
  public static Header parse(String text) {
    int colon = text.indexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(
          "invalid header '"
              + text
              + "': expected 'name: value', e.g. 'x-penstock-priority: high'");
    }
    return new Header(text.substring(0, colon).trim(), text.substring(colon + 1).trim());
  }
}
