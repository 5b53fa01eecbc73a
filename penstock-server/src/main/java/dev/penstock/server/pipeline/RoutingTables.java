package dev.penstock.server.pipeline;

import dev.penstock.core.Topology;
import dev.penstock.core.limit.DeploymentLimits;
import dev.penstock.core.limit.Pacing;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.config.GatewayConfig.DeploymentConfig;
import dev.penstock.server.config.GatewayConfig.ModelConfig;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.TokenEstimator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/** Builds what core and the pipeline need from a validated configuration. */
public final class RoutingTables {
  private RoutingTables() {}

  /** The window providers count their limits over. */
  public static final long WINDOW_MILLIS = 60_000;

  /** The scheduler's view: models, deployments with limits, tiers and weights. */
  public static Topology topology(GatewayConfig config) {
    List<Topology.ModelRoute> models = new ArrayList<>();
    for (ModelConfig model : config.models().values()) {
      List<Topology.DeploymentSpec> deployments = new ArrayList<>();
      for (DeploymentConfig d : model.deployments()) {
        deployments.add(
            new Topology.DeploymentSpec(
                d.name(),
                new DeploymentLimits(d.rpm(), d.tpm(), d.maxConcurrency(), d.tpmCharge()),
                d.priority(),
                d.weight()));
      }
      models.add(new Topology.ModelRoute(model.name(), deployments, model.fallbacks()));
    }
    Pacing pacing =
        new Pacing(
            Duration.ofMillis(WINDOW_MILLIS).toNanos(),
            Duration.ofMillis(config.defaults().pacingGuardMillis()).toNanos());
    return new Topology(
        models, pacing, config.defaults().maxQueued(), config.retry(), config.breaker());
  }

  /** The pipeline's view: how to address each deployment, and the request settings. */
  public static Pipeline.Routing routing(GatewayConfig config, TokenEstimator tokens) {
    Map<String, UpstreamTarget> targets = new HashMap<>();
    for (ModelConfig model : config.models().values()) {
      for (DeploymentConfig d : model.deployments()) {
        targets.put(d.name(), new UpstreamTarget(d));
      }
    }
    return new Pipeline.Routing(
        Map.copyOf(targets),
        java.util.Collections.unmodifiableSet(new LinkedHashSet<>(config.models().keySet())),
        new RequestReader(tokens, config.defaults().maxOutputTokens()),
        config.defaults().timeoutMillis(),
        config.retryTimeouts(),
        config.defaults().maxAnswerBytes(),
        canaries(config),
        EmbeddingBatching.of(config));
  }

  private static Map<String, GatewayConfig.Canary> canaries(GatewayConfig config) {
    Map<String, GatewayConfig.Canary> canaries = new java.util.HashMap<>();
    for (GatewayConfig.ModelConfig model : config.models().values()) {
      if (model.canary() != null && model.canary().percent() > 0) {
        canaries.put(model.name(), model.canary());
      }
    }
    return Map.copyOf(canaries);
  }
}
