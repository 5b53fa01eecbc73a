package dev.penstock.embedded;

import java.util.List;

/**
 * One public model — the name callers put in a request's {@code model} — with the deployments that
 * serve it and the models to fall back to when none of them can.
 */
public record Model(String name, List<Deployment> deployments, List<String> fallbacks) {
  public Model {
    deployments = List.copyOf(deployments);
    fallbacks = List.copyOf(fallbacks);
    if (deployments.isEmpty()) {
      throw new IllegalArgumentException("model " + name + " needs at least one deployment");
    }
  }

  public static Model of(String name, Deployment... deployments) {
    return new Model(name, List.of(deployments), List.of());
  }
}
