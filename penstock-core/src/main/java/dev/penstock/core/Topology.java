package dev.penstock.core;

import dev.penstock.core.health.BreakerPolicy;
import dev.penstock.core.limit.DeploymentLimits;
import dev.penstock.core.limit.Pacing;
import dev.penstock.core.retry.RetryPolicy;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What the scheduler schedules over: the public models, the deployments serving each, and the
 * settings of the queue. Immutable; a reload installs a new one ({@link Scheduler#configure}).
 *
 * @param maxQueued the most requests that may wait at once, over all models
 * @param retry how failed attempts are retried
 * @param breaker when a deployment's circuit opens
 */
public record Topology(
    List<ModelRoute> models,
    Pacing pacing,
    int maxQueued,
    RetryPolicy retry,
    BreakerPolicy breaker) {

  /** A topology with the default retry and circuit-breaker policies. */
  public Topology(List<ModelRoute> models, Pacing pacing, int maxQueued) {
    this(models, pacing, maxQueued, RetryPolicy.DEFAULT, BreakerPolicy.DEFAULT);
  }

  /** One public model: its deployments and the models to fall back to when none is usable. */
  public record ModelRoute(String name, List<DeploymentSpec> deployments, List<String> fallbacks) {
    public ModelRoute {
      deployments = List.copyOf(deployments);
      fallbacks = List.copyOf(fallbacks);
    }
  }

  /** One deployment: a name unique in the topology, its limits, its tier and weight. */
  public record DeploymentSpec(String name, DeploymentLimits limits, int tier, double weight) {}

  public Topology {
    models = List.copyOf(models);
    if (maxQueued < 0) {
      throw new IllegalArgumentException("maxQueued must not be negative");
    }
    Set<String> names = new HashSet<>();
    for (ModelRoute model : models) {
      for (DeploymentSpec d : model.deployments()) {
        if (!names.add(d.name())) {
          throw new IllegalArgumentException("deployment name '" + d.name() + "' is used twice");
        }
      }
    }
  }
}
