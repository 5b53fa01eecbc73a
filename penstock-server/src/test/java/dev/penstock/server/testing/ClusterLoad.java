package dev.penstock.server.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * An open-loop load generator for several gateway instances: each instance gets its own steady
 * stream of chat completions at {@code perSecond} requests a second (evenly spaced, one request
 * every {@code 1/perSecond} s whether or not earlier ones have been answered), as clients behind a
 * round-robin load balancer would send them. Each request carries {@code x-penstock-timeout-ms}, so
 * a gateway that cannot serve it in time answers 429 (its own, not the provider's) rather than
 * queueing without bound.
 *
 * <p>Counts are kept per instance ({@link Counts}); an instance can be {@link #disable}d (after a
 * test killed it: its clients go elsewhere — the load balancer's health check at work), and its
 * share then goes to the others, so the offered total stays the same.
 */
public final class ClusterLoad implements AutoCloseable {
  private final List<Counts> instances = new ArrayList<>();
  private final double perSecondTotal;
  private final long timeoutMillis;
  private final String model;
  private final int maxTokens;
  private final HttpClient http;
  private final ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor();
  private final AtomicBoolean running = new AtomicBoolean();
  private final AtomicLong sequence = new AtomicLong();
  private final long startedNanos;
  private final Thread pacer;

  /**
   * One instance's client-side figures.
   *
   * @param name the instance's name in reports
   * @param root {@code http://host:port}, without {@code /v1}
   */
  public record Counts(
      String name,
      URI root,
      AtomicBoolean enabled,
      AtomicLong sent,
      AtomicLong ok,
      AtomicLong gateway429,
      AtomicLong otherStatus,
      AtomicLong transportErrors) {
    Counts(String name, URI root) {
      this(
          name,
          root,
          new AtomicBoolean(true),
          new AtomicLong(),
          new AtomicLong(),
          new AtomicLong(),
          new AtomicLong(),
          new AtomicLong());
    }

    /** One line: sent, answered 2xx, the gateway's own 429s, other statuses, connection errors. */
    public String line(double seconds) {
      return String.format(
          Locale.ROOT,
          "%-10s sent %6d  ok %6d (%6.0f RPM)  gateway-429 %5d  other %4d  conn-errors %4d%s",
          name,
          sent.get(),
          ok.get(),
          seconds <= 0 ? 0 : ok.get() * 60 / seconds,
          gateway429.get(),
          otherStatus.get(),
          transportErrors.get(),
          enabled.get() ? "" : "  (taken out)");
    }
  }

  private ClusterLoad(
      List<GatewayProcess> gateways,
      double perSecondTotal,
      long timeoutMillis,
      String model,
      int maxTokens) {
    for (int i = 0; i < gateways.size(); i++) {
      instances.add(new Counts("instance-" + (i + 1), URI.create(gateways.get(i).root())));
    }
    this.perSecondTotal = perSecondTotal;
    this.timeoutMillis = timeoutMillis;
    this.model = model;
    this.maxTokens = maxTokens;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    this.startedNanos = System.nanoTime();
    this.pacer = Thread.ofPlatform().daemon().name("cluster-load").unstarted(this::pace);
  }

  /**
   * Starts offering {@code perSecondTotal} requests a second, spread evenly over the instances (in
   * turn: request k goes to the k-th enabled instance modulo their number).
   */
  public static ClusterLoad start(
      List<GatewayProcess> gateways,
      double perSecondTotal,
      long timeoutMillis,
      String model,
      int maxTokens) {
    ClusterLoad load = new ClusterLoad(gateways, perSecondTotal, timeoutMillis, model, maxTokens);
    load.running.set(true);
    load.pacer.start();
    return load;
  }

  /** Seconds since the load started. */
  public double elapsedSeconds() {
    return (System.nanoTime() - startedNanos) / 1e9;
  }

  public List<Counts> instances() {
    return List.copyOf(instances);
  }

  /** Sends no more requests to instance {@code index} (0-based); the others take its share. */
  public void disable(int index) {
    instances.get(index).enabled().set(false);
  }

  /** Requests answered 2xx over all instances. */
  public long ok() {
    return instances.stream().mapToLong(c -> c.ok().get()).sum();
  }

  private void pace() {
    long interval = (long) (1e9 / perSecondTotal);
    long next = startedNanos;
    int turn = 0;
    while (running.get()) {
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait); // a paced generator waits for its next send time
        continue;
      }
      Counts target = null;
      for (int tries = 0; tries < instances.size() && target == null; tries++) {
        Counts candidate = instances.get(turn++ % instances.size());
        if (candidate.enabled().get()) {
          target = candidate;
        }
      }
      if (target != null) {
        Counts chosen = target;
        chosen.sent().incrementAndGet();
        long n = sequence.incrementAndGet();
        senders.execute(() -> send(chosen, n));
      }
      next += interval;
    }
  }

  private void send(Counts target, long n) {
    String body =
        "{\"model\":\""
            + model
            + "\",\"max_tokens\":"
            + maxTokens
            + ",\"messages\":[{\"role\":\"user\",\"content\":\"Cluster load request "
            + n
            + ": say something short.\"}]}";
    HttpRequest request =
        HttpRequest.newBuilder(target.root().resolve("/v1/chat/completions"))
            .header("Content-Type", "application/json")
            .header("x-penstock-timeout-ms", Long.toString(timeoutMillis))
            .timeout(Duration.ofMillis(timeoutMillis + 30_000))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    try {
      HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
      int status = response.statusCode();
      if (status / 100 == 2) {
        target.ok().incrementAndGet();
      } else if (status == 429) {
        target.gateway429().incrementAndGet();
      } else {
        target.otherStatus().incrementAndGet();
      }
    } catch (IOException e) {
      target.transportErrors().incrementAndGet();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      target.transportErrors().incrementAndGet();
    }
  }

  /**
   * Stops sending and waits (bounded by the requests' own timeout) for the requests in flight; the
   * counts are final afterwards.
   */
  public void stop() {
    if (!running.getAndSet(false)) {
      return;
    }
    try {
      pacer.join(Duration.ofSeconds(10));
      senders.shutdown();
      if (!senders.awaitTermination(timeoutMillis + 35_000, TimeUnit.MILLISECONDS)) {
        senders.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      senders.shutdownNow();
    }
  }

  @Override
  public void close() {
    try {
      stop();
    } finally {
      senders.shutdownNow();
      http.close();
    }
  }
}
