package dev.penstock.server.telemetry;

import dev.penstock.core.Admissions;
import dev.penstock.server.config.Observability;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * The gateway's observers, assembled from {@code metrics:} and {@code logging:}: Prometheus metrics
 * and the dashboard's history when metrics are on, the access log when it is on. {@link #observer}
 * is what the pipeline tells; with everything off it is {@link RequestObserver#NONE} and a request
 * pays nothing.
 *
 * <p>Thread-safe. Built once at start; changing {@code metrics:} or {@code logging:} needs a
 * restart.
 */
public final class Telemetry implements AutoCloseable {
  private final @Nullable GatewayMetrics metrics;
  private final @Nullable Dashboard dashboard;
  private final RequestObserver observer;

  public Telemetry(
      Observability settings,
      Admissions admissions,
      LongSupplier wallMillis,
      UnaryOperator<String> redact,
      String version,
      int maxKeyLabels) {
    Supplier<PoolSnapshot> pool = () -> PoolSnapshot.take(admissions);
    List<RequestObserver> observers = new ArrayList<>();
    if (settings.metrics()) {
      metrics = new GatewayMetrics(pool, admissions::leakedReservations, maxKeyLabels);
      dashboard = new Dashboard(wallMillis, pool, redact, version);
      observers.add(metrics);
      observers.add(dashboard);
    } else {
      metrics = null;
      dashboard = null;
    }
    if (settings.accessLog()) {
      observers.add(new AccessLog(redact));
    }
    observer = observers.isEmpty() ? RequestObserver.NONE : fanOut(List.copyOf(observers));
  }

  public RequestObserver observer() {
    return observer;
  }

  /** The metrics, when {@code metrics.enabled}. */
  public Optional<GatewayMetrics> metrics() {
    return Optional.ofNullable(metrics);
  }

  /** The dashboard's data, when {@code metrics.enabled}. */
  public Optional<Dashboard> dashboard() {
    return Optional.ofNullable(dashboard);
  }

  @Override
  public void close() {
    if (metrics != null) {
      metrics.close();
    }
  }

  private static RequestObserver fanOut(List<RequestObserver> observers) {
    if (observers.size() == 1) {
      return observers.getFirst();
    }
    return new RequestObserver() {
      @Override
      public void retried(String deployment, RetryReason reason) {
        for (RequestObserver o : observers) {
          o.retried(deployment, reason);
        }
      }

      @Override
      public void upstreamRateLimited(String deployment) {
        for (RequestObserver o : observers) {
          o.upstreamRateLimited(deployment);
        }
      }

      @Override
      public void embeddingBatch(String model, int requests) {
        for (RequestObserver o : observers) {
          o.embeddingBatch(model, requests);
        }
      }

      @Override
      public void completed(RequestRecord record) {
        for (RequestObserver o : observers) {
          o.completed(record);
        }
      }
    };
  }
}
