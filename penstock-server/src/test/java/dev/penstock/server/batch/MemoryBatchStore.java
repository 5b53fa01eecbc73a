package dev.penstock.server.batch;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The {@link BatchStore} contract in memory: every method one critical section (the transaction),
 * line states as the contract gives them. A reference for the SQL stores and the store of the
 * runner's tests, which can also see what a runner did ({@link #settleCalls}).
 */
final class MemoryBatchStore implements BatchStore {

  private static final class Row {
    final int index;
    final String customId;
    final String body;
    LineState state = LineState.PENDING;
    long notBefore;
    long claimUntil;
    @Nullable String token;
    int attempts;
    @Nullable LineResult result;

    Row(BatchLine line) {
      this.index = line.index();
      this.customId = line.customId();
      this.body = line.body();
    }

    BatchLine line() {
      return new BatchLine(index, customId, body, attempts);
    }
  }

  private static final class Batch {
    BatchRecord record;
    final List<Row> rows = new ArrayList<>();
    final long order;

    Batch(BatchRecord record, long order) {
      this.record = record;
      this.order = order;
    }
  }

  private final Map<String, FileRecord> files = new LinkedHashMap<>();
  private final Map<String, Batch> batches = new LinkedHashMap<>();
  private final Map<String, Integer> settleCalls = new HashMap<>();
  private final List<String> claimed = new ArrayList<>();
  private long order;

  // ---- files ----

  @Override
  public synchronized void insertFile(FileRecord file) {
    files.put(file.id(), file);
  }

  @Override
  public synchronized Optional<FileRecord> file(String id) {
    return Optional.ofNullable(files.get(id));
  }

  @Override
  public synchronized List<FileRecord> files(
      @Nullable String ownerKeyId, @Nullable String purpose, @Nullable String after, int limit) {
    List<FileRecord> all = new ArrayList<>(files.values());
    java.util.Collections.reverse(all);
    List<FileRecord> out = new ArrayList<>();
    boolean past = after == null;
    for (FileRecord f : all) {
      if (!past) {
        past = f.id().equals(after);
        continue;
      }
      if ((ownerKeyId == null || ownerKeyId.equals(f.ownerKeyId()))
          && (purpose == null || purpose.equals(f.purpose()))
          && out.size() < limit) {
        out.add(f);
      }
    }
    return out;
  }

  @Override
  public synchronized boolean deleteFile(String id) {
    return files.remove(id) != null;
  }

  // ---- batches ----

  @Override
  public synchronized void insertBatch(BatchRecord batch) {
    batches.put(batch.id(), new Batch(batch, order++));
  }

  @Override
  public synchronized boolean startBatch(
      String batchId, String model, Iterable<BatchLine> lines, long atSeconds) {
    Batch b = batches.get(batchId);
    if (b == null || b.record.status() != BatchStatus.VALIDATING) {
      return false;
    }
    for (BatchLine line : lines) {
      b.rows.add(new Row(line));
    }
    b.rows.sort(Comparator.comparingInt(r -> r.index));
    b.record = copy(b.record, model, BatchStatus.IN_PROGRESS, null, null, null);
    b.record = stamp(b.record, BatchStatus.IN_PROGRESS, atSeconds);
    return true;
  }

  @Override
  public synchronized boolean failValidation(
      String batchId, List<BatchRecord.BatchError> errors, long atSeconds) {
    Batch b = batches.get(batchId);
    if (b == null || b.record.status() != BatchStatus.VALIDATING) {
      return false;
    }
    b.record = copy(b.record, b.record.model(), BatchStatus.FAILED, errors, null, null);
    b.record = stamp(b.record, BatchStatus.FAILED, atSeconds);
    return true;
  }

  @Override
  public synchronized Optional<BatchRecord> batch(String batchId) {
    Batch b = batches.get(batchId);
    return b == null ? Optional.empty() : Optional.of(withCounts(b));
  }

  @Override
  public synchronized List<BatchRecord> batches(
      @Nullable String ownerKeyId, @Nullable String after, int limit) {
    List<Batch> all = new ArrayList<>(batches.values());
    all.sort(Comparator.comparingLong((Batch b) -> b.order).reversed());
    List<BatchRecord> out = new ArrayList<>();
    boolean past = after == null;
    for (Batch b : all) {
      if (!past) {
        past = b.record.id().equals(after);
        continue;
      }
      if ((ownerKeyId == null || ownerKeyId.equals(b.record.ownerKeyId())) && out.size() < limit) {
        out.add(withCounts(b));
      }
    }
    return out;
  }

  @Override
  public synchronized List<BatchRecord> unfinished() {
    List<BatchRecord> out = new ArrayList<>();
    batches.values().stream()
        .sorted(Comparator.comparingLong(b -> b.order))
        .filter(b -> !b.record.status().terminal())
        .forEach(b -> out.add(withCounts(b)));
    return out;
  }

  @Override
  public synchronized boolean transition(
      String batchId, BatchStatus from, BatchStatus to, long atSeconds) {
    Batch b = batches.get(batchId);
    if (b == null || b.record.status() != from) {
      return false;
    }
    b.record = stamp(copy(b.record, b.record.model(), to, null, null, null), to, atSeconds);
    return true;
  }

  @Override
  public synchronized boolean finish(
      String batchId,
      BatchStatus to,
      @Nullable FileRecord output,
      @Nullable FileRecord errors,
      long atSeconds) {
    Batch b = batches.get(batchId);
    if (b == null || b.record.status() != BatchStatus.FINALIZING) {
      return false;
    }
    if (output != null) {
      files.put(output.id(), output);
    }
    if (errors != null) {
      files.put(errors.id(), errors);
    }
    b.record =
        stamp(
            copy(
                b.record,
                b.record.model(),
                to,
                null,
                output == null ? "" : output.id(),
                errors == null ? "" : errors.id()),
            to,
            atSeconds);
    return true;
  }

  // ---- lines ----

  @Override
  public synchronized List<BatchLine> claim(
      String batchId, int max, long nowMillis, long claimUntilMillis, String claimToken) {
    Batch b = batches.get(batchId);
    List<BatchLine> out = new ArrayList<>();
    if (b == null) {
      return out;
    }
    for (Row r : b.rows) {
      if (out.size() >= max) {
        break;
      }
      boolean free =
          (r.state == LineState.PENDING && r.notBefore <= nowMillis)
              || (r.state == LineState.CLAIMED && r.claimUntil <= nowMillis);
      if (free) {
        r.state = LineState.CLAIMED;
        r.token = claimToken;
        r.claimUntil = claimUntilMillis;
        r.attempts++;
        out.add(r.line());
        claimed.add(claimToken + "#" + r.index);
      }
    }
    return out;
  }

  @Override
  public synchronized boolean complete(
      String batchId, int index, String claimToken, LineResult result) {
    settleCalls.merge(claimToken + "#" + index, 1, Integer::sum);
    Row r = row(batchId, index);
    if (r == null || r.state != LineState.CLAIMED || !claimToken.equals(r.token)) {
      return false;
    }
    r.state = result.failed() ? LineState.FAILED : LineState.DONE;
    r.result = result;
    r.token = null;
    return true;
  }

  @Override
  public synchronized boolean release(
      String batchId, int index, String claimToken, long notBeforeMillis) {
    settleCalls.merge(claimToken + "#" + index, 1, Integer::sum);
    Row r = row(batchId, index);
    if (r == null || r.state != LineState.CLAIMED || !claimToken.equals(r.token)) {
      return false;
    }
    r.state = LineState.PENDING;
    r.notBefore = notBeforeMillis;
    r.token = null;
    return true;
  }

  @Override
  public synchronized int releaseAllClaims() {
    int n = 0;
    for (Batch b : batches.values()) {
      for (Row r : b.rows) {
        if (r.state == LineState.CLAIMED) {
          r.state = LineState.PENDING;
          r.token = null;
          r.notBefore = 0;
          n++;
        }
      }
    }
    return n;
  }

  @Override
  public synchronized int failPending(String batchId, Function<BatchLine, String> errorFor) {
    Batch b = batches.get(batchId);
    int n = 0;
    if (b == null) {
      return 0;
    }
    for (Row r : b.rows) {
      if (r.state == LineState.PENDING) {
        r.state = LineState.FAILED;
        r.result = LineResult.failure(errorFor.apply(r.line()));
        n++;
      }
    }
    return n;
  }

  @Override
  public synchronized LineCounts counts(String batchId) {
    Batch b = batches.get(batchId);
    int pending = 0;
    int claimed = 0;
    int done = 0;
    int failed = 0;
    if (b != null) {
      for (Row r : b.rows) {
        switch (r.state) {
          case PENDING -> pending++;
          case CLAIMED -> claimed++;
          case DONE -> done++;
          case FAILED -> failed++;
        }
      }
    }
    return new LineCounts(pending, claimed, done, failed);
  }

  @Override
  public synchronized void results(String batchId, boolean failed, Consumer<String> sink) {
    Batch b = batches.get(batchId);
    if (b == null) {
      return;
    }
    LineState wanted = failed ? LineState.FAILED : LineState.DONE;
    for (Row r : b.rows) {
      LineResult result = r.result;
      if (r.state == wanted && result != null) {
        sink.accept(result.json());
      }
    }
  }

  // ---- for tests ----

  /**
   * How often a runner completed or released each claim ({@code token#index}), whatever came of it.
   */
  synchronized Map<String, Integer> settleCalls() {
    return Map.copyOf(settleCalls);
  }

  /** Every claim of a line taken ({@code token#index}), in order. */
  synchronized List<String> claims() {
    return List.copyOf(claimed);
  }

  /** A line's state. */
  synchronized LineState state(String batchId, int index) {
    Row r = row(batchId, index);
    if (r == null) {
      throw new IllegalArgumentException("no line " + index);
    }
    return r.state;
  }

  /** Sets a batch's status without the contract's checks (a test rewinding a finished batch). */
  synchronized void force(String batchId, BatchStatus status) {
    Batch b = batches.get(batchId);
    if (b == null) {
      throw new IllegalArgumentException(batchId);
    }
    b.record = copy(b.record, b.record.model(), status, null, null, null);
  }

  private @Nullable Row row(String batchId, int index) {
    Batch b = batches.get(batchId);
    if (b == null) {
      return null;
    }
    for (Row r : b.rows) {
      if (r.index == index) {
        return r;
      }
    }
    return null;
  }

  private static BatchRecord withCounts(Batch b) {
    int total = b.rows.size();
    int done = 0;
    int failed = 0;
    long in = 0;
    long cached = 0;
    long out = 0;
    long reasoning = 0;
    for (Row r : b.rows) {
      LineResult result = r.result;
      if (r.state == LineState.DONE) {
        done++;
      } else if (r.state == LineState.FAILED) {
        failed++;
      }
      if (result != null) {
        in += result.inputTokens();
        cached += result.cachedTokens();
        out += result.outputTokens();
        reasoning += result.reasoningTokens();
      }
    }
    BatchRecord x = b.record;
    return new BatchRecord(
        x.id(),
        x.ownerKeyId(),
        x.endpoint(),
        x.model(),
        x.inputFileId(),
        x.completionWindow(),
        x.status(),
        x.metadata(),
        x.errors(),
        x.outputFileId(),
        x.errorFileId(),
        x.createdAt(),
        x.inProgressAt(),
        x.expiresAt(),
        x.finalizingAt(),
        x.completedAt(),
        x.failedAt(),
        x.expiredAt(),
        x.cancellingAt(),
        x.cancelledAt(),
        total,
        done,
        failed,
        in,
        cached,
        out,
        reasoning);
  }

  /**
   * A copy with a new model and status; errors and file ids replaced when given ("" clears a file
   * id).
   */
  private static BatchRecord copy(
      BatchRecord x,
      String model,
      BatchStatus status,
      @Nullable List<BatchRecord.BatchError> errors,
      @Nullable String outputFileId,
      @Nullable String errorFileId) {
    return new BatchRecord(
        x.id(),
        x.ownerKeyId(),
        x.endpoint(),
        model,
        x.inputFileId(),
        x.completionWindow(),
        status,
        x.metadata(),
        errors == null ? x.errors() : List.copyOf(errors),
        outputFileId == null ? x.outputFileId() : outputFileId.isEmpty() ? null : outputFileId,
        errorFileId == null ? x.errorFileId() : errorFileId.isEmpty() ? null : errorFileId,
        x.createdAt(),
        x.inProgressAt(),
        x.expiresAt(),
        x.finalizingAt(),
        x.completedAt(),
        x.failedAt(),
        x.expiredAt(),
        x.cancellingAt(),
        x.cancelledAt(),
        x.total(),
        x.completed(),
        x.failed(),
        x.usageInputTokens(),
        x.usageCachedTokens(),
        x.usageOutputTokens(),
        x.usageReasoningTokens());
  }

  /** The record with the timestamp of {@code status} set to {@code at}. */
  private static BatchRecord stamp(BatchRecord x, BatchStatus status, long at) {
    long inProgress = status == BatchStatus.IN_PROGRESS ? at : x.inProgressAt();
    long finalizing = status == BatchStatus.FINALIZING ? at : x.finalizingAt();
    long completed = status == BatchStatus.COMPLETED ? at : x.completedAt();
    long failed = status == BatchStatus.FAILED ? at : x.failedAt();
    long expired = status == BatchStatus.EXPIRED ? at : x.expiredAt();
    long cancelling = status == BatchStatus.CANCELLING ? at : x.cancellingAt();
    long cancelled = status == BatchStatus.CANCELLED ? at : x.cancelledAt();
    return new BatchRecord(
        x.id(),
        x.ownerKeyId(),
        x.endpoint(),
        x.model(),
        x.inputFileId(),
        x.completionWindow(),
        x.status(),
        x.metadata(),
        x.errors(),
        x.outputFileId(),
        x.errorFileId(),
        x.createdAt(),
        inProgress,
        x.expiresAt(),
        finalizing,
        completed,
        failed,
        expired,
        cancelling,
        cancelled,
        x.total(),
        x.completed(),
        x.failed(),
        x.usageInputTokens(),
        x.usageCachedTokens(),
        x.usageOutputTokens(),
        x.usageReasoningTokens());
  }
}
