package dev.penstock.server.pipeline;

import dev.penstock.server.telemetry.RequestObserver;
import dev.penstock.server.telemetry.RequestRecord;
import dev.penstock.server.telemetry.RetryReason;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link RequestObserver} that keeps what it hears, as readable lines ({@code "retried a
 * status_5xx"}) and the completed records. Thread-safe.
 */
final class RecordingObserver implements RequestObserver {
  private final List<String> events = new ArrayList<>();
  private final List<RequestRecord> completed = new ArrayList<>();

  @Override
  public synchronized void retried(String deployment, RetryReason reason) {
    events.add("retried " + deployment + " " + reason.label());
  }

  @Override
  public synchronized void upstreamRateLimited(String deployment) {
    events.add("rate limited " + deployment);
  }

  @Override
  public synchronized void embeddingBatch(String model, int requests) {
    events.add("embedding batch " + model + " " + requests);
  }

  @Override
  public synchronized void completed(RequestRecord record) {
    events.add("completed " + record.requestId());
    completed.add(record);
  }

  /** Retries and rate limits, in order ({@code completed} lines left out). */
  synchronized List<String> events() {
    return events.stream().filter(e -> !e.startsWith("completed ")).toList();
  }

  synchronized List<RequestRecord> completed() {
    return List.copyOf(completed);
  }

  /** The record of the only request that completed. */
  synchronized RequestRecord only() {
    if (completed.size() != 1) {
      throw new AssertionError(completed.size() + " requests completed, expected 1");
    }
    return completed.get(0);
  }
}
