package dev.penstock.server.batch;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.RequestReader;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenAI's Batches API without HTTP: create (checked at once; the input file validated afterwards
 * on a virtual thread), retrieve, list and cancel, each checked against the caller; the admin's
 * views of every batch; and, at start, validation resumed for batches a stopped gateway left {@code
 * validating}.
 *
 * <p>A validated batch goes {@code in_progress} with its lines stored; then the wake-up callback
 * tells the executor. Cancelling moves a {@code validating} or {@code in_progress} batch to {@code
 * cancelling} and wakes the executor, which fails the pending lines, lets the running ones finish
 * and finalizes the batch.
 *
 * <p>The caller is a virtual key's id, or null in open mode; another key's batch does not exist for
 * a caller ({@code 404}). Thread-safe.
 */
public final class BatchService implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BatchService.class);

  /** The endpoints a batch may run. */
  public static final Set<String> ENDPOINTS =
      Set.of("/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v1/responses");

  /** The one completion window (OpenAI's). */
  public static final String WINDOW = "24h";

  private static final long WINDOW_SECONDS = 24 * 3600;
  private static final int MAX_METADATA = 16;

  private final BatchStore store;
  private final FileService files;
  private final BatchValidator validator;
  private final LongSupplier wallMillis;
  private final ExecutorService validators = Executors.newVirtualThreadPerTaskExecutor();
  private final Set<String> validating = ConcurrentHashMap.newKeySet();
  private volatile Runnable wakeUp = () -> {};
  private volatile BatchProgress progress = BatchProgress.NONE;
  private volatile boolean closed;

  public BatchService(
      BatchStore store, FileService files, BatchValidator validator, LongSupplier wallMillis) {
    this.store = store;
    this.files = files;
    this.validator = validator;
    this.wallMillis = wallMillis;
  }

  /** What to call when a batch has lines to run or was cancelled: the executor's wake-up. */
  public void setWakeUp(Runnable value) {
    wakeUp = value;
  }

  /** Where the admin views' rate and ETA come from. */
  public void setProgress(BatchProgress value) {
    progress = value;
  }

  public BatchStore store() {
    return store;
  }

  public FileService files() {
    return files;
  }

  public BatchProgress progress() {
    return progress;
  }

  // ---- the API ----

  /**
   * {@code POST /v1/batches}: checks the request, stores the batch {@code validating} and starts
   * validating its file.
   *
   * @param body the request's JSON body
   */
  public BatchRecord create(@Nullable String caller, byte[] body) {
    JsonNode root;
    try {
      root = RequestReader.JSON.readTree(body);
    } catch (IOException e) {
      root = null;
    }
    if (root == null || !root.isObject()) {
      throw ApiError.invalid(
          "We could not parse the JSON body of your request. The OpenAI API expects a JSON object.",
          null,
          "invalid_json");
    }
    String inputFileId = requiredString(root, "input_file_id");
    String endpoint = requiredString(root, "endpoint");
    if (!ENDPOINTS.contains(endpoint)) {
      throw ApiError.invalid(
          "Invalid value for 'endpoint': '"
              + FileService.shorten(endpoint)
              + "'. Supported values are: '/v1/chat/completions', '/v1/embeddings',"
              + " '/v1/completions' and '/v1/responses'.",
          "endpoint",
          "invalid_value");
    }
    String window = requiredString(root, "completion_window");
    if (!WINDOW.equals(window)) {
      throw ApiError.invalid(
          "Invalid value for 'completion_window': '"
              + FileService.shorten(window)
              + "'. Supported values are: '24h'.",
          "completion_window",
          "invalid_value");
    }
    Map<String, String> metadata = metadata(root.get("metadata"));
    FileRecord file =
        store
            .file(inputFileId)
            .filter(f -> FileService.visible(caller, f.ownerKeyId()))
            .orElseThrow(
                () ->
                    ApiError.notFound(
                        "No such File object: " + FileService.shorten(inputFileId),
                        "input_file_id",
                        "file_not_found"));
    if (!FileService.PURPOSE_BATCH.equals(file.purpose())) {
      throw ApiError.invalid(
          "The file "
              + file.id()
              + " has purpose '"
              + file.purpose()
              + "': a batch's input file must be uploaded with purpose 'batch'.",
          "input_file_id",
          "invalid_file_purpose");
    }
    long now = nowSeconds();
    BatchRecord batch =
        new BatchRecord(
            BatchIds.batch(),
            caller,
            endpoint,
            "",
            file.id(),
            WINDOW,
            BatchStatus.VALIDATING,
            metadata,
            List.of(),
            null,
            null,
            now,
            0,
            now + WINDOW_SECONDS,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0);
    store.insertBatch(batch);
    validateLater(batch);
    return batch;
  }

  /** {@code GET /v1/batches/{id}}. */
  public BatchRecord get(@Nullable String caller, String id) {
    return store
        .batch(id)
        .filter(b -> FileService.visible(caller, b.ownerKeyId()))
        .orElseThrow(() -> notFound(id));
  }

  /** {@code GET /v1/batches}: newest first, {@code limit} 1 to 100. */
  public Page<BatchRecord> list(@Nullable String caller, @Nullable String after, int limit) {
    checkLimit(limit, 100);
    return Page.of(store.batches(caller, after, limit + 1), limit);
  }

  /**
   * {@code POST /v1/batches/{id}/cancel}: a {@code validating} or {@code in_progress} batch goes
   * {@code cancelling}; one {@code cancelling} or {@code cancelled} already is answered as it is;
   * any other (finished, failed, finalizing) is a {@code 409}, as OpenAI answers.
   */
  public BatchRecord cancel(@Nullable String caller, String id) {
    for (int attempt = 0; attempt < 5; attempt++) {
      BatchRecord batch = get(caller, id);
      BatchStatus status = batch.status();
      if (status == BatchStatus.CANCELLING || status == BatchStatus.CANCELLED) {
        return batch;
      }
      if (status != BatchStatus.VALIDATING && status != BatchStatus.IN_PROGRESS) {
        throw new ApiError(
            409,
            "invalid_request_error",
            "Cannot cancel a batch with status '" + status.wireName() + "'.",
            null,
            "batch_not_cancellable",
            -1);
      }
      if (store.transition(id, status, BatchStatus.CANCELLING, nowSeconds())) {
        LOG.info("batch {}: cancelling", id);
        wakeUp.run();
        return get(caller, id);
      }
      // It moved meanwhile (validated, finished): look again.
    }
    return get(caller, id);
  }

  // ---- the admin's ----

  /** Every batch (or those of one status), newest first; {@code limit} 1 to 100. */
  public Page<BatchRecord> adminList(
      @Nullable BatchStatus status, @Nullable String after, int limit) {
    checkLimit(limit, 100);
    if (status == null) {
      return Page.of(store.batches(null, after, limit + 1), limit);
    }
    List<BatchRecord> matching = new ArrayList<>();
    String cursor = after;
    while (matching.size() <= limit) {
      List<BatchRecord> chunk = store.batches(null, cursor, 200);
      for (BatchRecord b : chunk) {
        if (b.status() == status && matching.size() <= limit) {
          matching.add(b);
        }
      }
      if (chunk.size() < 200) {
        break;
      }
      cursor = chunk.get(chunk.size() - 1).id();
    }
    return Page.of(matching, limit);
  }

  /** Any batch, whoever owns it. */
  public BatchRecord adminGet(String id) {
    return get(null, id);
  }

  /** Cancels any batch, whoever owns it. */
  public BatchRecord adminCancel(String id) {
    return cancel(null, id);
  }

  // ---- validation ----

  /**
   * Validates again the batches a stopped gateway left {@code validating}, and wakes the executor
   * for the rest (call once the gateway is up).
   */
  public void resume() {
    boolean other = false;
    for (BatchRecord b : store.unfinished()) {
      if (b.status() == BatchStatus.VALIDATING) {
        validateLater(b);
      } else {
        other = true;
      }
    }
    if (other) {
      wakeUp.run();
    }
  }

  /**
   * Validates {@code batch} again unless this gateway validates it already (the executor's call, on
   * shared storage, for a batch another instance left {@code validating}).
   */
  public void revalidate(BatchRecord batch) {
    if (batch.status() == BatchStatus.VALIDATING) {
      validateLater(batch);
    }
  }

  /** Whether a batch's validation is running now (tests wait on it). */
  public boolean validating(String batchId) {
    return validating.contains(batchId);
  }

  private void validateLater(BatchRecord batch) {
    if (closed || !validating.add(batch.id())) {
      return;
    }
    try {
      validators.execute(
          () -> {
            try {
              validate(batch);
            } catch (RuntimeException e) {
              LOG.error("batch {}: validation failed unexpectedly", batch.id(), e);
            } finally {
              validating.remove(batch.id());
            }
          });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      validating.remove(batch.id()); // closing: the next start validates it
    }
  }

  private void validate(BatchRecord batch) {
    String id = batch.id();
    String fileId = batch.inputFileId();
    Optional<FileRecord> file = store.file(fileId);
    FileStore bytes = files.fileStore();
    if (file.isEmpty() || !bytes.exists(fileId)) {
      fail(id, "file_not_found", "The input file " + fileId + " no longer exists.");
      return;
    }
    BatchValidator.Result result;
    try (InputStream in = bytes.open(fileId)) {
      result = validator.validate(in, batch.endpoint(), () -> closed);
    } catch (IOException e) {
      LOG.error("batch {}: its input file {} cannot be read: {}", id, fileId, e.toString());
      fail(id, "file_unreadable", "The input file could not be read.");
      return;
    }
    if (closed) {
      return; // validated again at the next start
    }
    if (!result.valid()) {
      if (store.failValidation(id, result.errors(), nowSeconds())) {
        LOG.info("batch {}: its input file is invalid ({} errors)", id, result.errors().size());
      }
      return;
    }
    boolean started;
    try {
      started =
          store.startBatch(
              id,
              result.model(),
              validator.lines(() -> bytes.open(fileId), batch.endpoint()),
              nowSeconds());
    } catch (IllegalStateException | java.io.UncheckedIOException e) {
      LOG.error("batch {}: its lines could not be stored: {}", id, e.toString());
      fail(id, "file_unreadable", "The input file could not be read again: " + e.getMessage());
      return;
    }
    if (started) {
      LOG.info("batch {}: {} lines of {} in progress", id, result.lines(), result.model());
      wakeUp.run();
    }
  }

  private void fail(String id, String code, String message) {
    store.failValidation(
        id, List.of(new BatchRecord.BatchError(code, message, null, 0)), nowSeconds());
  }

  // ---- helpers ----

  private static String requiredString(JsonNode root, String name) {
    JsonNode value = root.get(name);
    if (value == null || value.isNull()) {
      throw ApiError.invalid(
          "Missing required parameter: '" + name + "'.", name, "missing_required_parameter");
    }
    if (!value.isTextual()) {
      throw ApiError.invalid(
          "Invalid type for '" + name + "': expected a string.", name, "invalid_type");
    }
    return value.asText();
  }

  private static Map<String, String> metadata(@Nullable JsonNode node) {
    if (node == null || node.isNull()) {
      return Map.of();
    }
    if (!node.isObject()) {
      throw badMetadata("'metadata' must be an object of strings.");
    }
    if (node.size() > MAX_METADATA) {
      throw badMetadata("'metadata' may hold at most " + MAX_METADATA + " pairs.");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : node.properties()) {
      if (e.getKey().length() > 64) {
        throw badMetadata("A 'metadata' key may be at most 64 characters long.");
      }
      if (!e.getValue().isTextual()) {
        throw badMetadata("Every 'metadata' value must be a string.");
      }
      if (e.getValue().asText().length() > 512) {
        throw badMetadata("A 'metadata' value may be at most 512 characters long.");
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }

  private static ApiError badMetadata(String message) {
    return ApiError.invalid(message, "metadata", "invalid_value");
  }

  private static void checkLimit(int limit, int max) {
    if (limit < 1 || limit > max) {
      throw ApiError.invalid(
          "Invalid value for 'limit': " + limit + ". It must be between 1 and " + max + ".",
          "limit",
          "invalid_value");
    }
  }

  static ApiError notFound(String id) {
    return ApiError.notFound(
        "No batch found with id '" + FileService.shorten(id) + "'.", "batch_id", "batch_not_found");
  }

  private long nowSeconds() {
    return wallMillis.getAsLong() / 1000;
  }

  /** Stops the validations running (their batches stay {@code validating}, resumed next start). */
  @Override
  public void close() {
    closed = true;
    validators
        .shutdown(); // no interrupt: a validation stops at its next line (closed), its batch left
    // validating
    try {
      if (!validators.awaitTermination(10, TimeUnit.SECONDS)) {
        LOG.warn("batch validations still running after 10 s; stopping without them");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
