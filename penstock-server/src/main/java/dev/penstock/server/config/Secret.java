package dev.penstock.server.config;

/**
 * A credential. Its {@link #toString()} never shows the value, so that a config record can be
 * logged or printed without leaking it; only {@link #reveal()} does, at the one place that sends it
 * upstream.
 */
public final class Secret {
  private final String value;

  public Secret(String value) {
    this.value = value;
  }

  public String reveal() {
    return value;
  }

  public boolean isEmpty() {
    return value.isEmpty();
  }

  @Override
  public String toString() {
    return value.isEmpty() ? "(none)" : "****";
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Secret s && s.value.equals(value);
  }

  @Override
  public int hashCode() {
    return value.hashCode();
  }
}
