package dev.penstock.cli.bench;

import java.util.regex.Pattern;

/** One extra request header from {@code --header 'name: value'}. */
public record Header(String name, String value) {
  // RFC 9110 token characters: anything else cannot be a header name.
  private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

  public Header {
    if (!TOKEN.matcher(name).matches()) {
      throw new IllegalArgumentException("invalid header name '" + name + "'");
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
