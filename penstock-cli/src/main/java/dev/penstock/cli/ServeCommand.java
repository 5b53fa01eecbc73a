package dev.penstock.cli;

import dev.penstock.server.config.ConfigException;
import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.http.GatewayServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code penstock serve --config FILE}: runs the gateway until interrupted. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = "Runs the gateway with the given configuration (SPEC 9).")
final class ServeCommand implements Callable<Integer> {
  @Option(names = "--config", required = true, description = "The YAML configuration file.")
  Path config;

  @Override
  public Integer call() throws Exception {
    GatewayConfig gatewayConfig;
    try {
      gatewayConfig = new ConfigLoader().load(config);
    } catch (ConfigException e) {
      CheckCommand.printProblems(config, e);
      return 2;
    }
    GatewayServer server = GatewayServer.start(gatewayConfig);
    System.out.printf("penstock gateway at %s (Ctrl-C stops)%n", server.baseUrl());
    System.out.flush();
    UntilInterrupted.run(server);
    return 0;
  }
}
