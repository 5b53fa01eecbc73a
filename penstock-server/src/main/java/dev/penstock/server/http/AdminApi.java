package dev.penstock.server.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.core.Admissions;
import dev.penstock.core.Scheduler;
import dev.penstock.core.health.CircuitBreaker;
import dev.penstock.core.limit.DeploymentLimiter;
import dev.penstock.server.config.Secret;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.telemetry.PoolSnapshot;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's API under {@code /admin/} (SPEC 12): the deployments' state, and disable, enable
 * and drain. Authorised by the admin key as a bearer token; with no admin key configured (open
 * mode) only loopback callers are served. Answers never carry an upstream key or URL.
 *
 * <p>Thread-safe: every view and action runs under the scheduler's lock ({@link
 * Admissions#inspect}), held for microseconds.
 */
final class AdminApi {
  private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);

  private final Admissions admissions;
  private final Supplier<Secret> adminKey;

  /** An answer: status and JSON body. */
  record Answer(int status, ObjectNode body) {}

  AdminApi(Admissions admissions, Supplier<Secret> adminKey) {
    this.admissions = admissions;
    this.adminKey = adminKey;
  }

  /**
   * Checks that the caller may use the admin API; throws a {@code 401}/{@code 403} {@link ApiError}
   * otherwise.
   */
  void authorise(Optional<String> authorization, SocketAddress peer) {
    Secret key = adminKey.get();
    if (key.isEmpty()) {
      boolean loopback =
          peer instanceof InetSocketAddress inet
              && inet.getAddress() != null
              && inet.getAddress().isLoopbackAddress();
      if (!loopback) {
        throw new ApiError(
            403,
            "permission_error",
            "The admin API is served only to loopback callers when no admin_key is configured.",
            null,
            "admin_forbidden",
            -1);
      }
      return;
    }
    String presented = authorization.orElse("");
    String token =
        presented.regionMatches(true, 0, "Bearer ", 0, 7) ? presented.substring(7).trim() : "";
    if (!MessageDigest.isEqual(
        token.getBytes(StandardCharsets.UTF_8), key.reveal().getBytes(StandardCharsets.UTF_8))) {
      throw new ApiError(
          401,
          "invalid_request_error",
          "The admin API needs the admin key as a bearer token.",
          null,
          "invalid_admin_key",
          -1);
    }
  }

  /** {@code GET /admin/deployments}. */
  Answer deployments() {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    List<ObjectNode> views =
        admissions.inspect(
            s -> {
              long now = admissions.ticker().nanos();
              List<ObjectNode> out = new ArrayList<>();
              for (Map.Entry<String, List<String>> model : s.deploymentsByModel().entrySet()) {
                for (String name : model.getValue()) {
                  s.deployment(name).ifPresent(l -> out.add(view(model.getKey(), l, now)));
                }
              }
              return out;
            });
    data.addAll(views);
    return new Answer(200, root);
  }

  /** {@code POST /admin/deployments/{name}/{action}}: disable, enable or drain. */
  Answer act(String name, String action) {
    String verb = action.toLowerCase(Locale.ROOT);
    if (!List.of("disable", "enable", "drain").contains(verb)) {
      throw ApiError.notFound(
          "Unknown action '" + action + "': use disable, enable or drain.", null, "unknown_url");
    }
    Optional<ObjectNode> result =
        admissions.inspect(
            s -> {
              long now = admissions.ticker().nanos();
              if (s.deployment(name).isEmpty()) {
                return Optional.<ObjectNode>empty();
              }
              switch (verb) {
                case "disable" -> s.disable(name, "disabled by operator", now);
                case "drain" -> s.disable(name, DRAINED, now);
                default -> s.enable(name, now);
              }
              return Optional.of(view(modelOf(s, name), s.deployment(name).orElseThrow(), now));
            });
    ObjectNode view =
        result.orElseThrow(
            () ->
                ApiError.notFound(
                    "No deployment is named '" + name + "'.", "name", "deployment_not_found"));
    LOG.info("admin: deployment {} {}", name, verb + (verb.endsWith("e") ? "d" : "ed"));
    admissions.dispatchNow();
    return new Answer(200, view);
  }

  private static final String DRAINED = PoolSnapshot.DRAINED;

  private static String modelOf(Scheduler s, String deployment) {
    for (Map.Entry<String, List<String>> model : s.deploymentsByModel().entrySet()) {
      if (model.getValue().contains(deployment)) {
        return model.getKey();
      }
    }
    return "";
  }

  private static ObjectNode view(String model, DeploymentLimiter limiter, long now) {
    ObjectNode d = JsonNodeFactory.instance.objectNode();
    d.put("name", limiter.name());
    d.put("model", model);
    String reason = limiter.disabledReason();
    d.put("state", PoolSnapshot.state(reason, limiter.inFlight()));
    d.put("disabled_reason", reason);
    d.put("in_flight", limiter.inFlight());
    CircuitBreaker health = limiter.health();
    ObjectNode circuit = d.putObject("circuit");
    CircuitBreaker.State state = health.state(now);
    circuit.put("state", state.name().toLowerCase(Locale.ROOT));
    circuit.put("consecutive_failures", health.consecutiveFailures());
    int[] window = health.window(now);
    circuit.put("window_attempts", window[0]);
    circuit.put("window_failures", window[1]);
    circuit.put(
        "open_for_ms",
        state == CircuitBreaker.State.OPEN ? (health.openUntilNanos() - now) / 1_000_000 : 0);
    ObjectNode limits = d.putObject("limits");
    limits.put("rpm", limiter.rpm());
    limits.put("tpm", limiter.tpm());
    limits.put("max_concurrency", limiter.limits().maxConcurrency());
    ObjectNode use = d.putObject("window");
    use.put("requests", limiter.windowRequests(now));
    use.put("tokens", limiter.windowTokens(now));
    long coolDownUntil = limiter.coolDownUntilNanos();
    d.put("cooldown_ms", coolDownUntil > now ? (coolDownUntil - now) / 1_000_000 : 0);
    return d;
  }
}
