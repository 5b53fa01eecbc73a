package dev.penstock.server.testing;

import dev.penstock.mock.KeyStats;
import dev.penstock.mock.MockServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * The simulator's per-key counts sampled once a second, so that a test can judge a part of a run
 * (the steady part, the seconds after a kill) by what the referee saw rather than by what the
 * clients were told: delivery is the growth of {@link KeyStats#succeeded} between two samples.
 */
public final class StatsTimeline implements AutoCloseable {
  /** One sample: seconds since the timeline started, and every key's stats. */
  public record Sample(double seconds, List<KeyStats> keys) {
    long succeeded(Set<String> names) {
      return keys.stream()
          .filter(k -> names.contains(k.name()))
          .mapToLong(KeyStats::succeeded)
          .sum();
    }
  }

  private final MockServer mock;
  private final List<Sample> samples = new CopyOnWriteArrayList<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final long startedNanos = System.nanoTime();
  private final Thread sampler;

  private StatsTimeline(MockServer mock) {
    this.mock = mock;
    this.sampler = Thread.ofPlatform().daemon().name("stats-timeline").unstarted(this::run);
  }

  public static StatsTimeline start(MockServer mock) {
    StatsTimeline timeline = new StatsTimeline(mock);
    timeline.sample();
    timeline.sampler.start();
    return timeline;
  }

  public double elapsedSeconds() {
    return (System.nanoTime() - startedNanos) / 1e9;
  }

  private void run() {
    long next = startedNanos;
    while (running.get()) {
      next += 1_000_000_000L;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait); // the sampler's period, not a wait for a condition
      }
      sample();
    }
  }

  /** Takes a sample now (also at the end of a phase, for an exact boundary). */
  public Sample sample() {
    Sample s = new Sample(elapsedSeconds(), mock.stats());
    samples.add(s);
    return s;
  }

  /** The sample nearest to {@code seconds}. */
  public Sample at(double seconds) {
    Sample best = samples.getFirst();
    for (Sample s : samples) {
      if (Math.abs(s.seconds() - seconds) < Math.abs(best.seconds() - seconds)) {
        best = s;
      }
    }
    return best;
  }

  /**
   * Requests per minute the keys {@code names} answered 2xx between the samples nearest to {@code
   * from} and {@code to} seconds.
   */
  public double deliveredRpm(Set<String> names, double from, double to) {
    Sample a = at(from);
    Sample b = at(to);
    double seconds = b.seconds() - a.seconds();
    return seconds <= 0 ? 0 : (b.succeeded(names) - a.succeeded(names)) * 60 / seconds;
  }

  /**
   * The delivery of {@code names} in consecutive {@code step}-second slices from {@code from} to
   * {@code to}, as "t=12s 1788" entries, for the report.
   */
  public String curve(Set<String> names, double from, double to, double step) {
    List<String> parts = new ArrayList<>();
    for (double t = from; t + step <= to + 0.5; t += step) {
      parts.add(String.format(Locale.ROOT, "%.0fs:%.0f", t, deliveredRpm(names, t, t + step)));
    }
    return String.join(" ", parts);
  }

  /**
   * The first second from {@code from} on after which a {@code window}-second slice delivers at
   * least {@code rpm}, or -1.
   */
  public double recoveredAt(Set<String> names, double from, double to, double window, double rpm) {
    for (double t = from; t + window <= to + 0.5; t += 1) {
      if (deliveredRpm(names, t, t + window) >= rpm) {
        return t;
      }
    }
    return -1;
  }

  @Override
  public void close() {
    running.set(false);
    sampler.interrupt();
    try {
      sampler.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
