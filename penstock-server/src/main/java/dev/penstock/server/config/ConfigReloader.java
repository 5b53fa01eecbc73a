package dev.penstock.server.config;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads the configuration file and installs it if it is valid (SPEC 9): on a file change ({@link
 * ConfigWatcher}) or {@code SIGHUP}. An invalid file is refused with one log line per problem, each
 * naming its field path and line, and the running configuration stays. A new listen address cannot
 * be applied to a running server: it is reported, the rest is applied.
 *
 * <p>Thread-safe: reloads are serialised, so two triggers at once apply the file once each, in
 * turn, and the last one wins.
 */
public final class ConfigReloader {
  private static final Logger LOG = LoggerFactory.getLogger(ConfigReloader.class);

  private final Path file;
  private final ConfigLoader loader;
  private final Consumer<GatewayConfig> apply;
  // Guarded by this.
  private GatewayConfig current;

  /** What a reload did. */
  public sealed interface Outcome {
    /** The new configuration is in force; {@code changes} says how it differs (may be empty). */
    record Applied(List<String> changes) implements Outcome {}

    /** The file was refused; the running configuration stays. */
    record Refused(List<String> problems) implements Outcome {}
  }

  /**
   * @param current the configuration in force
   * @param apply installs a new configuration (e.g. {@code GatewayServer::reload})
   */
  public ConfigReloader(
      Path file, ConfigLoader loader, GatewayConfig current, Consumer<GatewayConfig> apply) {
    this.file = file;
    this.loader = loader;
    this.current = current;
    this.apply = apply;
  }

  /** Reads the file and applies it if valid; {@code trigger} names the cause for the log. */
  public synchronized Outcome reload(String trigger) {
    GatewayConfig next;
    try {
      next = loader.load(file);
    } catch (ConfigException e) {
      return refuse(trigger, e.problems());
    } catch (IOException e) {
      return refuse(
          trigger, List.of(file + ": cannot be read (" + e.getClass().getSimpleName() + ")"));
    }
    List<String> changes = differences(current, next);
    if (!next.host().equals(current.host()) || next.port() != current.port()) {
      LOG.warn(
          "config reload ({}): the listen address changed to {}:{}; it takes effect only after a"
              + " restart (still listening on {}:{})",
          trigger,
          next.host(),
          next.port(),
          current.host(),
          current.port());
    }
    if (!current.adminKey().isEmpty() && next.adminKey().isEmpty()) {
      LOG.warn(
          "config reload ({}): admin_key is now EMPTY (was its environment variable unset?): the"
              + " admin API is now open to every loopback caller, without a key",
          trigger);
    }
    if (!next.observability().equals(current.observability())) {
      LOG.warn(
          "config reload ({}): metrics: and logging: changed; they take effect only after a"
              + " restart",
          trigger);
    }
    apply.accept(next);
    current = next;
    LOG.info(
        "config reload ({}): applied {}",
        trigger,
        changes.isEmpty() ? "(no change)" : String.join("; ", changes));
    return new Outcome.Applied(changes);
  }

  /** The configuration in force. */
  public synchronized GatewayConfig current() {
    return current;
  }

  private Outcome refuse(String trigger, List<String> problems) {
    LOG.error(
        "config reload ({}): {} refused, keeping the running configuration ({})",
        trigger,
        file,
        problems.size() == 1 ? "1 problem" : problems.size() + " problems");
    problems.forEach(p -> LOG.error("  {}", p));
    return new Outcome.Refused(problems);
  }

  /** Deployments added, removed and changed, and other settings changed — never a key. */
  static List<String> differences(GatewayConfig before, GatewayConfig after) {
    Map<String, GatewayConfig.DeploymentConfig> old = deployments(before);
    Map<String, GatewayConfig.DeploymentConfig> now = deployments(after);
    Set<String> added = new LinkedHashSet<>(now.keySet());
    added.removeAll(old.keySet());
    Set<String> removed = new LinkedHashSet<>(old.keySet());
    removed.removeAll(now.keySet());
    List<String> changed = new ArrayList<>();
    for (Map.Entry<String, GatewayConfig.DeploymentConfig> e : now.entrySet()) {
      GatewayConfig.DeploymentConfig was = old.get(e.getKey());
      if (was != null && !Objects.equals(was, e.getValue())) {
        changed.add(e.getKey());
      }
    }
    List<String> changes = new ArrayList<>();
    if (!added.isEmpty()) {
      changes.add("deployments added: " + String.join(", ", added));
    }
    if (!removed.isEmpty()) {
      changes.add("deployments removed: " + String.join(", ", removed));
    }
    if (!changed.isEmpty()) {
      changes.add("deployments changed: " + String.join(", ", changed));
    }
    if (!before.models().keySet().equals(after.models().keySet())) {
      changes.add("models: " + String.join(", ", after.models().keySet()));
    }
    if (!before.adminKey().isEmpty() && after.adminKey().isEmpty()) {
      changes.add("admin_key removed: the admin API is open to loopback callers without a key");
    } else if (!before.adminKey().equals(after.adminKey())) {
      changes.add("admin_key changed");
    }
    if (before.tenancy().auth() != after.tenancy().auth()) {
      changes.add("auth: " + after.tenancy().auth().name().toLowerCase(java.util.Locale.ROOT));
    }
    if (!before.tenancy().pricing().prices().equals(after.tenancy().pricing().prices())) {
      changes.add("pricing changed");
    }
    if (before.tenancy().metricsMaxKeys() != after.tenancy().metricsMaxKeys()) {
      changes.add("tenants.metrics_max_keys changed (takes effect after a restart)");
    }
    if (!before.batches().equals(after.batches())) {
      changes.add("batches: changed (takes effect after a restart)");
    }
    if (!java.util.Objects.equals(before.rabbit(), after.rabbit())) {
      changes.add("queues.rabbitmq changed (takes effect after a restart)");
    }
    if (!java.util.Objects.equals(before.cluster(), after.cluster())) {
      changes.add("cluster: changed (takes effect after a restart)");
    }
    if (!before.upstream().equals(after.upstream())) {
      changes.add("upstream: changed (takes effect after a restart)");
    }
    if (!java.util.Objects.equals(before.tenancy().postgresUrl(), after.tenancy().postgresUrl())
        || !before.tenancy().storagePath().equals(after.tenancy().storagePath())) {
      changes.add("storage: changed (takes effect after a restart)");
    }
    if (!before.defaults().equals(after.defaults())
        || !before.retry().equals(after.retry())
        || before.retryTimeouts() != after.retryTimeouts()
        || !before.breaker().equals(after.breaker())) {
      changes.add("gateway settings changed");
    }
    return changes;
  }

  private static Map<String, GatewayConfig.DeploymentConfig> deployments(GatewayConfig config) {
    Map<String, GatewayConfig.DeploymentConfig> byName = new HashMap<>();
    config.models().values().forEach(m -> m.deployments().forEach(d -> byName.put(d.name(), d)));
    return new java.util.TreeMap<>(byName);
  }
}
