package dev.penstock.cli;

import dev.penstock.cli.admin.AdminOptions;
import dev.penstock.cli.admin.BatchesCommand;
import dev.penstock.cli.admin.KeysCommand;
import dev.penstock.cli.admin.UsageCommand;
import dev.penstock.cli.bench.BenchCommand;
import dev.penstock.cli.bench.ProgressStyle;
import java.time.Clock;
import java.util.Map;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code bin/penstock}. */
@Command(
    name = "penstock",
    mixinStandardHelpOptions = true,
    versionProvider = VersionCommand.Lines.class,
    description = "OpenAI-compatible LLM gateway that paces every key under its RPM/TPM limits.",
    subcommands = {
      ServeCommand.class,
      CheckCommand.class,
      DemoCommand.class,
      MockCommand.class,
      BenchCommand.class,
      KeysCommand.class,
      UsageCommand.class,
      BatchesCommand.class,
      VersionCommand.class
    })
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    // Initialise Logback before any other thread logs, then route java.util.logging (Helidon's)
    // to it with everything else.
    LoggerFactory.getILoggerFactory();
    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
    int code = commandLine().execute(args);
    LogFormat.stopLogging(); // what the command logged last is written out before the exit
    System.exit(code);
  }

  /**
   * The command line with every subcommand, for the launcher and for tests; progress is drawn as a
   * bar when stderr is a terminal, as plain lines otherwise.
   */
  public static CommandLine commandLine() {
    return commandLine(ProgressStyle.detect());
  }

  /** The command line, with the progress style chosen by the caller. */
  public static CommandLine commandLine(ProgressStyle progressStyle) {
    return commandLine(progressStyle, System.getenv(), Clock.systemUTC());
  }

  /**
   * The command line, with what the commands read from the machine chosen by the caller: the
   * environment ({@code PENSTOCK_URL}, {@code PENSTOCK_ADMIN_KEY}) and the clock.
   */
  public static CommandLine commandLine(
      ProgressStyle progressStyle, Map<String, String> environment, Clock clock) {
    CommandLine cli = new CommandLine(new Main(), new Commands(progressStyle, environment, clock));
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    cli.setExecutionExceptionHandler(
        (e, command, parsed) -> {
          command.getErr().println("penstock: " + e.getMessage());
          return 1;
        });
    return cli;
  }

  /**
   * Builds the commands that show progress with the style decided once, at startup, and the admin
   * commands' shared options (a mixin, which picocli creates through this factory too) with the
   * environment and clock.
   */
  private record Commands(ProgressStyle progressStyle, Map<String, String> environment, Clock clock)
      implements CommandLine.IFactory {
    @Override
    public <K> K create(Class<K> type) throws Exception {
      if (type == BenchCommand.class) {
        return type.cast(new BenchCommand(progressStyle));
      }
      if (type == DemoCommand.class) {
        return type.cast(new DemoCommand(progressStyle));
      }
      if (type == AdminOptions.class) {
        return type.cast(new AdminOptions(environment, clock));
      }
      return CommandLine.defaultFactory().create(type);
    }
  }
}
