package dev.penstock.cli;

import dev.penstock.cli.bench.ProgressListener;
import dev.penstock.cli.bench.ProgressPrinter;
import dev.penstock.cli.bench.ProgressSnapshot;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The demo's runs on one progress line — A (straight to one key) and B (through Penstock), or one
 * per instance with {@code --cluster} — redrawn in place on a terminal, a plain line every few
 * seconds in a log.
 *
 * <p>Each run reports on its own thread; {@link #side} listeners may be called concurrently.
 */
final class DemoProgress {
  private final List<String> sides;
  private final ProgressPrinter printer; // guarded by lock
  private final Map<String, ProgressSnapshot> latest = new ConcurrentHashMap<>();
  private final ReentrantLock lock = new ReentrantLock();

  /** Sides A and B. */
  DemoProgress(ProgressPrinter printer) {
    this(printer, List.of("A", "B"));
  }

  /** The runs {@code sides}, shown in that order. */
  DemoProgress(ProgressPrinter printer, List<String> sides) {
    this.printer = printer;
    this.sides = List.copyOf(sides);
  }

  /** The listener for one run, one of the sides. */
  ProgressListener side(String name) {
    if (!sides.contains(name)) {
      throw new IllegalArgumentException("no side " + name);
    }
    return snapshot -> {
      latest.put(name, snapshot);
      lock.lock();
      try {
        printer.update(snapshot.elapsedNanos(), render());
      } finally {
        lock.unlock();
      }
    };
  }

  /** Shows the final counts; call once, after both runs have returned. */
  void finish() {
    lock.lock();
    try {
      printer.finish(render());
    } finally {
      lock.unlock();
    }
  }

  /** Elapsed time (both runs started together), then each run's counts. */
  String render() {
    long elapsedNanos =
        latest.values().stream().mapToLong(ProgressSnapshot::elapsedNanos).max().orElse(0);
    StringBuilder line =
        new StringBuilder(String.format(Locale.ROOT, "%5.0fs ", elapsedNanos / 1e9));
    for (String name : sides) {
      ProgressSnapshot s = latest.get(name);
      if (s != null) {
        line.append(
            String.format(
                Locale.ROOT,
                " | %s sent %d ok %d 429 %d%s",
                name,
                s.sent(),
                s.succeeded(),
                s.rateLimited(),
                s.draining() ? " (draining)" : ""));
      }
    }
    return line.toString();
  }
}
