package dev.penstock.server.telemetry;

import dev.penstock.core.Admissions;
import dev.penstock.core.health.CircuitBreaker;
import dev.penstock.core.limit.DeploymentLimiter;
import dev.penstock.core.queue.Priority;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The pool's state at one instant, as the operator sees it: every deployment's use of its limits,
 * health and state, and the queue by model and priority. Taken under the scheduler's lock in one
 * pass (microseconds), so that a scrape or a dashboard poll sees one consistent picture.
 *
 * @param queue waiting requests: model, then priority name, to count
 */
public record PoolSnapshot(List<Deployment> deployments, Map<String, Map<String, Integer>> queue) {

  /** One deployment. Holds names and numbers only — never its key or URL. */
  public record Deployment(
      String model,
      String name,
      String state,
      String circuit,
      long rpmLimit,
      long requestsInWindow,
      long tpmLimit,
      long tokensInWindow,
      int inFlight,
      long cooldownNanos,
      long upstreamRemainingRequests,
      long upstreamRemainingTokens) {

    public boolean enabled() {
      return state.equals("enabled");
    }
  }

  /** The reason {@code AdminApi} gives a deployment drained by the operator. */
  public static final String DRAINED = "drained by operator";

  public static PoolSnapshot take(Admissions admissions) {
    return admissions.inspect(
        s -> {
          long now = admissions.ticker().nanos();
          List<Deployment> deployments = new ArrayList<>();
          Map<String, Map<String, Integer>> queue = new LinkedHashMap<>();
          for (Map.Entry<String, List<String>> model : s.deploymentsByModel().entrySet()) {
            for (String name : model.getValue()) {
              s.deployment(name).ifPresent(l -> deployments.add(view(model.getKey(), l, now)));
            }
            Map<String, Integer> byPriority = new LinkedHashMap<>();
            for (Priority priority : Priority.values()) {
              byPriority.put(
                  priority.name().toLowerCase(Locale.ROOT), s.queued(model.getKey(), priority));
            }
            queue.put(model.getKey(), byPriority);
          }
          return new PoolSnapshot(List.copyOf(deployments), queue);
        });
  }

  /** Requests waiting, all models together, by priority name. */
  public Map<String, Integer> queueByPriority() {
    Map<String, Integer> total = new LinkedHashMap<>();
    for (Priority priority : Priority.values()) {
      total.put(priority.name().toLowerCase(Locale.ROOT), 0);
    }
    queue.values().forEach(m -> m.forEach((p, n) -> total.merge(p, n, Integer::sum)));
    return total;
  }

  public int queued() {
    return queue.values().stream().flatMap(m -> m.values().stream()).mapToInt(n -> n).sum();
  }

  private static Deployment view(String model, DeploymentLimiter limiter, long now) {
    CircuitBreaker.State circuit = limiter.health().state(now);
    return new Deployment(
        model,
        limiter.name(),
        state(limiter.disabledReason(), limiter.inFlight()),
        circuit.name().toLowerCase(Locale.ROOT),
        limiter.rpm(),
        limiter.windowRequests(now),
        limiter.tpm(),
        limiter.windowTokens(now),
        limiter.inFlight(),
        limiter.coolDownUntilNanos() > now ? limiter.coolDownUntilNanos() - now : 0,
        limiter.lastRemainingRequests(),
        limiter.lastRemainingTokens());
  }

  /** enabled, disabled, draining (drained by the operator, requests still running) or drained. */
  public static String state(@Nullable String disabledReason, int inFlight) {
    if (disabledReason == null) {
      return "enabled";
    }
    if (disabledReason.equals(DRAINED)) {
      return inFlight > 0 ? "draining" : "drained";
    }
    return "disabled";
  }
}
