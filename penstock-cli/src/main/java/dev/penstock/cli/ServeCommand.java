package dev.penstock.cli;

import dev.penstock.server.config.ConfigException;
import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.config.ConfigReloader;
import dev.penstock.server.config.ConfigWatcher;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.config.Observability;
import dev.penstock.server.http.GatewayServer;
import dev.penstock.server.tenant.StorageException;
import dev.penstock.server.upstream.HelidonUpstreamClient;
import dev.penstock.server.upstream.JdkUpstreamClient;
import dev.penstock.server.upstream.PooledHttp1Client;
import dev.penstock.server.upstream.UpstreamClient;
import dev.penstock.server.upstream.UpstreamOptions;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code penstock serve --config FILE}: runs the gateway until interrupted, reloading the file when
 * it changes or on {@code SIGHUP}, and stopping gracefully on {@code SIGTERM} or Ctrl-C.
 */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = "Runs the gateway with the given configuration (see docs/configuration.md).")
final class ServeCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

  /** How long the directory must be quiet after a change before the file is read. */
  private static final long SETTLE_MILLIS = 200;

  @Option(names = "--config", required = true, description = "The YAML configuration file.")
  Path config;

  @Option(
      names = "--no-watch",
      description = "Do not reload when the file changes (SIGHUP still reloads).")
  boolean noWatch;

  @Option(
      names = "--log-format",
      description =
          "auto, plain or json (default: logging.format from the file, else auto: plain on a"
              + " terminal, json otherwise).")
  Observability.@Nullable LogFormat logFormat;

  /** Which upstream client the gateway uses; the overhead benchmark compares them. */
  enum UpstreamClientKind {
    POOLED,
    JDK,
    HELIDON
  }

  @Option(
      names = "--upstream-client",
      hidden = true,
      description =
          "pooled (default), jdk or helidon: the overhead benchmark's comparison"
              + " (docs/decisions/0001-upstream-http-client.md).")
  UpstreamClientKind upstreamClient =
      UpstreamClientKind.valueOf(
          System.getProperty("penstock.upstreamClient", "pooled").toUpperCase(Locale.ROOT));

  @Override
  public Integer call() throws Exception {
    ConfigLoader loader = new ConfigLoader();
    GatewayConfig gatewayConfig;
    try {
      gatewayConfig = loader.load(config);
    } catch (ConfigException e) {
      CheckCommand.printProblems(config, e);
      return 2;
    }
    LogFormat.apply(gatewayConfig.observability().logFormat(), logFormat);
    UpstreamOptions upstreamOptions;
    try {
      upstreamOptions = GatewayServer.upstreamOptions(gatewayConfig.upstream());
    } catch (IllegalArgumentException e) {
      // a CA file gone since the check, or a bad HTTPS_PROXY: the message never holds a secret
      System.err.println("penstock: " + e.getMessage());
      return 2;
    }
    GatewayServer server;
    try {
      server =
          GatewayServer.builder(gatewayConfig)
              .upstreamClient(upstreamClient(upstreamOptions))
              .start();
    } catch (StorageException e) {
      // A database another gateway holds, a read-only or corrupt file: say so, never fall back to
      // an open mode without the keys.
      System.err.println("penstock: cannot open the storage: " + e.getMessage());
      return 1;
    }
    ConfigReloader reloader = new ConfigReloader(config, loader, gatewayConfig, server::reload);
    switch (Sighup.onSignal(() -> reloader.reload("SIGHUP"))) {
      case WAS_IGNORED ->
          LOG.warn(
              "SIGHUP is ignored (started under nohup?): it will not reload the configuration;"
                  + " editing the file does{}",
              noWatch ? " not either (--no-watch)" : "");
      case NO -> LOG.warn("this platform has no SIGHUP: reload by editing the file");
      case YES -> {}
    }
    if (gatewayConfig.adminKey().isEmpty()) {
      LOG.warn(
          "admin_key is empty (an unset ${VAR:-} variable?): the admin API needs no key and"
              + " answers loopback callers only");
    }
    ConfigWatcher watcher =
        noWatch
            ? null
            : new ConfigWatcher(config, SETTLE_MILLIS, () -> reloader.reload("file change"));
    // One write: printf writes its pieces one by one, and a log line on stderr (merged with stdout
    // by a supervisor) could land in the middle of the address.
    System.out.print(
        "penstock gateway at %s, dashboard at %s (Ctrl-C stops)%n"
            .formatted(server.baseUrl(), server.dashboardUrl()));
    System.out.flush();
    UntilInterrupted.run(
        () -> {
          if (watcher != null) {
            watcher.close();
          }
          server.close();
        });
    return 0;
  }

  private UpstreamClient upstreamClient(UpstreamOptions options) {
    return switch (upstreamClient) {
      case POOLED -> new PooledHttp1Client(options);
      case JDK -> new JdkUpstreamClient(options);
      case HELIDON -> new HelidonUpstreamClient(options);
    };
  }
}
