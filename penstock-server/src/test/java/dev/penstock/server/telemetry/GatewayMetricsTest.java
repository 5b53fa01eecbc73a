package dev.penstock.server.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.ref.WeakReference;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Meters read from a function keep reading after a garbage collection: Micrometer holds their state
 * only weakly, and a lambda passed to a {@code bind*} method has no other reference.
 */
class GatewayMetricsTest {
  @Test
  void boundCountersAndGaugesSurviveAGarbageCollection() {
    GatewayMetrics metrics =
        new GatewayMetrics(() -> new PoolSnapshot(List.of(), Map.of()), () -> 0);
    AtomicLong answered = new AtomicLong(7);
    AtomicLong pending = new AtomicLong(3);
    metrics.bindQueue("work", outcome -> "answered".equals(outcome) ? answered.get() : 0);
    metrics.bindLedger(() -> 11, pending::get);
    metrics.bindBatches(List::of, outcome -> "done".equals(outcome) ? 5 : 0);

    collectGarbage();

    String text = metrics.scrape();
    assertThat(text)
        .contains("penstock_queue_messages_total{outcome=\"answered\",queue=\"work\"} 7.0")
        .contains("penstock_ledger_rows_written_total 11.0")
        .contains("penstock_ledger_rows_pending 3.0")
        .contains("penstock_batch_lines_total{outcome=\"done\"} 5.0")
        .contains("penstock_batches{status=\"in_progress\"} 0.0");
    metrics.close();
  }

  /** Runs collections until a weakly held probe is gone (bounded). */
  private static void collectGarbage() {
    WeakReference<Object> probe = new WeakReference<>(new Object());
    for (int i = 0; i < 20 && probe.get() != null; i++) {
      System.gc();
    }
    assertThat(probe.get()).as("a collection ran").isNull();
  }
}
