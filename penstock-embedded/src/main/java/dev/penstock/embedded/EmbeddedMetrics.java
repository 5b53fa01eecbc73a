package dev.penstock.embedded;

import dev.penstock.core.Admissions;
import dev.penstock.core.limit.DeploymentLimiter;
import dev.penstock.core.queue.Priority;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Penstock's metrics in the application's Micrometer registry, named as the gateway names them
 * ({@code penstock.requests} is {@code penstock_requests_total} in Prometheus, {@code
 * penstock.queue.wait} is {@code penstock_queue_wait_seconds}, ...): requests by outcome, queue
 * wait, retries, upstream 429s, tokens, refusals, and per deployment its limits, its use of the
 * current window and its utilisation, read from the scheduler when the registry is scraped.
 *
 * <p>Loaded only when the application passes a registry, so that micrometer-core stays optional.
 * {@link #close()} removes every meter it registered.
 */
final class EmbeddedMetrics implements Observer, AutoCloseable {
  private final MeterRegistry registry;
  private final Admissions admissions;
  // The registry hands back the same meter for the same name and tags: the set stays small.
  private final java.util.Set<Meter> meters = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private EmbeddedMetrics(MeterRegistry registry, Admissions admissions) {
    this.registry = registry;
    this.admissions = admissions;
  }

  static EmbeddedMetrics bind(Object registry, Admissions admissions) {
    EmbeddedMetrics metrics = new EmbeddedMetrics((MeterRegistry) registry, admissions);
    metrics.registerGauges();
    return metrics;
  }

  private void registerGauges() {
    Map<String, List<String>> byModel = admissions.inspect(s -> s.deploymentsByModel());
    for (Map.Entry<String, List<String>> model : byModel.entrySet()) {
      for (String name : model.getValue()) {
        Tags tags = Tags.of("model", model.getKey(), "deployment", name);
        deployment("penstock.deployment.rpm.limit", tags, name, (l, now) -> l.rpm());
        deployment("penstock.deployment.tpm.limit", tags, name, (l, now) -> l.tpm());
        deployment(
            "penstock.deployment.requests.in.window",
            tags,
            name,
            (l, now) -> l.windowRequests(now));
        deployment(
            "penstock.deployment.tokens.in.window", tags, name, (l, now) -> l.windowTokens(now));
        deployment("penstock.deployment.in.flight", tags, name, (l, now) -> l.inFlight());
        deployment(
            "penstock.deployment.utilization.ratio",
            tags.and("resource", "requests"),
            name,
            (l, now) -> (double) l.windowRequests(now) / l.rpm());
        deployment(
            "penstock.deployment.utilization.ratio",
            tags.and("resource", "tokens"),
            name,
            (l, now) -> (double) l.windowTokens(now) / l.tpm());
      }
      for (Priority priority : Priority.values()) {
        String modelName = model.getKey();
        gauge(
            "penstock.queue.depth",
            Tags.of("model", modelName, "priority", priority.wireName()),
            a -> a.inspect(s -> s.queued(modelName, priority)));
      }
    }
    gauge("penstock.reservations.leaked", Tags.empty(), a -> a.leakedReservations());
  }

  /** Reads one figure of one deployment, under the scheduler's lock, at scrape time. */
  private interface Figure {
    double of(DeploymentLimiter limiter, long nowNanos);
  }

  private void deployment(String name, Tags tags, String deployment, Figure figure) {
    gauge(
        name,
        tags,
        a ->
            a.inspect(
                s ->
                    s.deployment(deployment)
                        .map(l -> figure.of(l, a.ticker().nanos()))
                        .orElse(Double.NaN)));
  }

  private void gauge(String name, Tags tags, ToDoubleFunction<Admissions> reader) {
    meters.add(Gauge.builder(name, admissions, reader).tags(tags).register(registry));
  }

  private Counter counter(String name, String description, Tags tags) {
    Counter counter = Counter.builder(name).description(description).tags(tags).register(registry);
    meters.add(counter);
    return counter;
  }

  @Override
  public void waited(String model, Priority priority, long nanos) {
    Timer timer =
        Timer.builder("penstock.queue.wait")
            .description("Time a request waited for capacity, retry backoffs included")
            .tags("model", model, "priority", priority.wireName())
            .register(registry);
    meters.add(timer);
    timer.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void ended(String model, String deployment, int status, String outcome) {
    counter(
            "penstock.requests",
            "Requests served, by how they ended",
            Tags.of(
                "model",
                model,
                "deployment",
                deployment,
                "status_class",
                (status / 100) + "xx",
                "outcome",
                outcome))
        .increment();
  }

  @Override
  public void rejected(String model, String reason) {
    counter(
            "penstock.rejected",
            "Requests Penstock refused for capacity, by reason",
            Tags.of("model", model, "reason", reason))
        .increment();
  }

  @Override
  public void retried(String deployment, String reason) {
    counter(
            "penstock.retries",
            "Failed attempts retried",
            Tags.of("deployment", deployment, "reason", reason))
        .increment();
  }

  @Override
  public void upstreamRateLimited(String deployment) {
    counter(
            "penstock.upstream.rate.limited",
            "Upstream 429 answers",
            Tags.of("deployment", deployment))
        .increment();
  }

  @Override
  public void tokens(String model, String deployment, long input, long output) {
    Tags tags = Tags.of("model", model, "deployment", deployment);
    String description = "Tokens used, as the upstream reported them";
    counter("penstock.tokens", description, tags.and("type", "input")).increment((double) input);
    counter("penstock.tokens", description, tags.and("type", "output")).increment((double) output);
  }

  @Override
  public void close() {
    List<Meter> registered = new ArrayList<>(meters);
    meters.clear();
    registered.forEach(registry::remove);
  }
}
