package dev.penstock.cli;

import dev.penstock.server.config.ConfigException;
import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.config.GatewayConfig;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code penstock check --config FILE}: validates a configuration, naming each problem's line. */
@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    description =
        "Validates a configuration file (see docs/configuration.md); each problem names its"
            + " field path and line.")
final class CheckCommand implements Callable<Integer> {
  @Option(names = "--config", required = true, description = "The YAML configuration file.")
  Path config;

  @Override
  public Integer call() throws Exception {
    try {
      GatewayConfig valid = new ConfigLoader().load(config);
      int deployments =
          valid.models().values().stream().mapToInt(m -> m.deployments().size()).sum();
      System.out.printf(
          "%s: valid — %d models, %d deployments, listening on %s:%d%n",
          config, valid.models().size(), deployments, valid.host(), valid.port());
      return 0;
    } catch (ConfigException e) {
      printProblems(config, e);
      return 1;
    } catch (NoSuchFileException e) {
      System.err.printf("%s: no such file%n", config);
      return 1;
    }
  }

  static void printProblems(Path file, ConfigException e) {
    System.err.printf("%s: invalid configuration (%d problems)%n", file, e.problems().size());
    e.problems().forEach(p -> System.err.println("  " + p));
  }
}
