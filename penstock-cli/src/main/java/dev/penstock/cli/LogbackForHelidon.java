package dev.penstock.cli;

import io.helidon.logging.common.spi.LoggingProvider;

/**
 * Tells Helidon that logging is already set up: {@link Main} routes java.util.logging to SLF4J and
 * Logback configures itself from {@code logback.xml}. Without a provider Helidon prints a warning
 * at every start.
 */
public final class LogbackForHelidon implements LoggingProvider {
  @Override
  public void initialization() {}

  @Override
  public void runTime() {}
}
