package dev.penstock.server.health;

import dev.penstock.core.Admissions;
import dev.penstock.server.pipeline.UpstreamTarget;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the deployments that ask for it ({@code health_check_interval_ms}) every interval with a
 * {@code GET} of their models list, and tells the scheduler: a failed check (no connection, a
 * timeout, a {@code 5xx}, {@code 401}/{@code 403}) counts against the deployment's circuit; a
 * passed one ends an open circuit's wait early. Any other answer (a relay without {@code /models}
 * answering {@code 404}, a {@code 429}) shows the upstream alive and passes.
 *
 * <p>Threads: one platform timer thread ({@code penstock-health-checks}) schedules; each check runs
 * on its own virtual thread, and a deployment whose previous check still runs is skipped that
 * round. {@link #install} replaces the checked set (hot reload); it and {@link #close} may be
 * called from any thread.
 */
public final class ActiveHealthChecks implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ActiveHealthChecks.class);

  private final Admissions admissions;
  private final HttpClient http =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(5))
          .followRedirects(HttpClient.Redirect.NEVER)
          .build();
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          Thread.ofPlatform().name("penstock-health-checks").daemon().factory());
  // Guarded by this.
  private final List<ScheduledFuture<?>> scheduled = new ArrayList<>();

  public ActiveHealthChecks(Admissions admissions) {
    this.admissions = admissions;
  }

  /** Checks these deployments from now on (those with an interval), and no others. */
  public synchronized void install(Collection<UpstreamTarget> targets) {
    scheduled.forEach(task -> task.cancel(false));
    scheduled.clear();
    for (UpstreamTarget target : targets) {
      long interval = target.healthCheckIntervalMillis();
      if (interval > 0) {
        AtomicBoolean running = new AtomicBoolean();
        scheduled.add(
            timer.scheduleWithFixedDelay(
                () -> {
                  if (running.compareAndSet(false, true)) {
                    Thread.ofVirtual()
                        .name("penstock-health-check-" + target.name())
                        .start(
                            () -> {
                              try {
                                admissions.healthChecked(target.name(), check(target));
                              } finally {
                                running.set(false);
                              }
                            });
                  }
                },
                0,
                interval,
                TimeUnit.MILLISECONDS));
      }
    }
  }

  private boolean check(UpstreamTarget target) {
    try {
      int status =
          http.send(target.healthCheck(), HttpResponse.BodyHandlers.discarding()).statusCode();
      boolean passed = status < 500 && status != 401 && status != 403;
      if (!passed) {
        LOG.debug("health check of deployment {}: answered {}", target.name(), status);
      }
      return passed;
    } catch (IOException e) {
      LOG.debug("health check of deployment {}: {}", target.name(), e.getClass().getSimpleName());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return true; // shutting down: say nothing about the deployment
    }
  }

  @Override
  public synchronized void close() {
    scheduled.forEach(task -> task.cancel(false));
    scheduled.clear();
    timer.shutdownNow();
    http.close();
  }
}
