package dev.penstock.server.batch;

import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The durable state of files and batches: SQLite on one node, PostgreSQL in cluster mode (both
 * {@code SqlBatchStore}) — the same contract, one contract test.
 *
 * <p>Every method is one transaction. A line changes state only through {@link #claim}, {@link
 * #complete}, {@link #release} and {@link #failPending}; {@link #complete} and {@link #release} act
 * only on a line still claimed with the caller's claim token, so a worker whose claim expired (and
 * whose line another worker took) cannot write it twice. There is one row per (batch, line), so the
 * output written from the rows holds each line once.
 *
 * <p>Times are wall-clock milliseconds since the epoch unless a name says seconds.
 */
public interface BatchStore {

  // ---- files ----

  void insertFile(FileRecord file);

  /** A file that exists and is not deleted. */
  Optional<FileRecord> file(String id);

  /**
   * Files newest first, after the cursor {@code after} (a file id) when given.
   *
   * @param ownerKeyId only this key's files; null for all (open mode, or the admin)
   * @param purpose only files of this purpose; null for any
   */
  List<FileRecord> files(
      @Nullable String ownerKeyId, @Nullable String purpose, @Nullable String after, int limit);

  /** Marks a file deleted; false when there was none. */
  boolean deleteFile(String id);

  // ---- batches ----

  /** Stores a new batch (status {@code validating}, no lines yet). */
  void insertBatch(BatchRecord batch);

  /**
   * Ends validation in one transaction: stores the lines (all {@code pending}), the batch's model,
   * and moves it from {@code validating} to {@code in_progress} at {@code atSeconds}. False (and
   * nothing stored) when the batch is no longer {@code validating} (cancelled meanwhile).
   *
   * <p>{@code lines} is iterated once, inside the transaction: it may read them from the input file
   * as it goes (a 200 MB file is not held in memory); an exception from it rolls back.
   */
  boolean startBatch(String batchId, String model, Iterable<BatchLine> lines, long atSeconds);

  /**
   * Ends validation with errors: {@code validating} to {@code failed}. False when not validating.
   */
  boolean failValidation(String batchId, List<BatchRecord.BatchError> errors, long atSeconds);

  /** A batch with its current counts and usage. */
  Optional<BatchRecord> batch(String batchId);

  /**
   * Batches newest first, after the cursor {@code after} (a batch id) when given.
   *
   * @param ownerKeyId only this key's batches; null for all
   */
  List<BatchRecord> batches(@Nullable String ownerKeyId, @Nullable String after, int limit);

  /**
   * Batches not yet at a terminal status, oldest first: what a starting gateway resumes ({@code
   * validating}, {@code in_progress}, {@code cancelling}, {@code finalizing}).
   */
  List<BatchRecord> unfinished();

  /**
   * Moves a batch from {@code from} to {@code to}, setting the timestamp that belongs to {@code to}
   * ({@code cancelling_at}, {@code finalizing_at}, ...) to {@code atSeconds}. False when the batch
   * was not at {@code from} (someone else moved it).
   */
  boolean transition(String batchId, BatchStatus from, BatchStatus to, long atSeconds);

  /**
   * Ends finalization: records the output and error files (either may be null: none written) and
   * their metadata, and moves the batch from {@code finalizing} to {@code to} ({@code completed},
   * {@code cancelled} or {@code expired}) — one transaction. False when it was not finalizing.
   */
  boolean finish(
      String batchId,
      BatchStatus to,
      @Nullable FileRecord output,
      @Nullable FileRecord errors,
      long atSeconds);

  // ---- lines ----

  /**
   * Claims up to {@code max} lines of a batch, lowest index first: pending ones whose {@code
   * not_before} has passed, and claimed ones whose claim expired. Each is marked claimed until
   * {@code claimUntilMillis} with {@code claimToken}, and its attempts counted.
   */
  List<BatchLine> claim(
      String batchId, int max, long nowMillis, long claimUntilMillis, String claimToken);

  /**
   * Stores a line's result and marks it done (or failed) — one transaction, only if the line is
   * still claimed with {@code claimToken}. False otherwise (nothing written).
   */
  boolean complete(String batchId, int index, String claimToken, LineResult result);

  /**
   * Gives a claimed line back to pending, to be tried again from {@code notBeforeMillis} (it could
   * not start: the pool was full, the gateway stopping). False when no longer claimed with {@code
   * claimToken}.
   */
  boolean release(String batchId, int index, String claimToken, long notBeforeMillis);

  /**
   * Gives every claimed line back to pending (a single node starting again after a crash). Never on
   * shared storage: the claims may be other live instances'.
   */
  int releaseAllClaims();

  /**
   * Fails every pending line of a batch with the error line {@code errorFor} builds (for cancel and
   * expiry: {@code batch_cancelled}, {@code batch_expired}); claimed lines are left to finish. The
   * lines handed to {@code errorFor} carry an empty body (an error line does not quote it, and the
   * bodies of a large batch are not read for nothing).
   */
  int failPending(String batchId, java.util.function.Function<BatchLine, String> errorFor);

  /** How many lines of the batch are in each state. */
  LineCounts counts(String batchId);

  /**
   * Hands the stored result lines of the batch, in input order, to {@code sink}: the done ones
   * ({@code failed} false) or the failed ones.
   */
  void results(String batchId, boolean failed, Consumer<String> sink);

  /** Lines by state. */
  record LineCounts(int pending, int claimed, int done, int failed) {
    public int total() {
      return pending + claimed + done + failed;
    }
  }
}
