package dev.penstock.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import dev.penstock.server.config.Observability;
import java.io.Console;
import java.net.URL;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;

/**
 * Chooses how log lines look: {@code json} (one object per line, for log shippers) or {@code plain}
 * (for a terminal). {@code auto} picks plain when the process has a terminal, json otherwise.
 * Logback is reconfigured from {@code logback.xml} with the property {@code PENSTOCK_LOG_FORMAT}
 * set.
 */
final class LogFormat {
  private LogFormat() {}

  /**
   * Applies the format: {@code override} (the {@code --log-format} option) if given, else the
   * environment variable {@code PENSTOCK_LOG_FORMAT}, else the configuration's.
   */
  static void apply(
      Observability.LogFormat configured, Observability.@Nullable LogFormat override) {
    Observability.LogFormat format = override != null ? override : fromEnvironment(configured);
    boolean json =
        switch (format) {
          case JSON -> true;
          case PLAIN -> false;
          case AUTO -> !isTerminal(System.console());
        };
    if (json) {
      reconfigure("logback-json.xml");
    }
  }

  /** {@code isTerminal()} decides; the console is null only with -Djdk.console=java.base. */
  private static boolean isTerminal(@Nullable Console console) {
    return console != null && console.isTerminal();
  }

  private static Observability.LogFormat fromEnvironment(Observability.LogFormat configured) {
    String value = System.getenv("PENSTOCK_LOG_FORMAT");
    if (value == null || value.isBlank()) {
      return configured;
    }
    try {
      return Observability.LogFormat.parse(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "PENSTOCK_LOG_FORMAT must be auto, plain or json, not '"
              + value.toLowerCase(Locale.ROOT)
              + "'",
          e);
    }
  }

  private static void reconfigure(String resource) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return; // another SLF4J backend (tests): its own configuration stands
    }
    URL file = LogFormat.class.getClassLoader().getResource(resource);
    if (file == null) {
      return;
    }
    context.reset();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    try {
      configurator.doConfigure(file);
    } catch (JoranException e) {
      throw new IllegalStateException(resource + " is broken", e);
    }
  }

  /**
   * Writes out Logback's asynchronous queue and stops it: at the very end of the process, after the
   * command (and a gateway's drain) is done — never in a shutdown hook of its own, which would run
   * alongside the drain and lose its lines.
   */
  static void stopLogging() {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      context.stop();
    }
  }
}
