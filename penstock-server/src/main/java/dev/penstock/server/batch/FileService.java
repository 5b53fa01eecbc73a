package dev.penstock.server.batch;

import dev.penstock.server.openai.ApiError;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenAI's Files API without HTTP: uploads (staged to disk as they arrive, then registered), reads,
 * lists and deletions, each checked against the caller.
 *
 * <p>The caller is a virtual key's id, or null in open mode (no keys: everything is visible). A
 * file belongs to the key that uploaded it (or whose batch wrote it); another key is told it does
 * not exist ({@code 404}, never {@code 403}) and never sees it listed.
 *
 * <p>Thread-safe.
 */
public final class FileService {
  private static final Logger LOG = LoggerFactory.getLogger(FileService.class);

  /** The purpose of an uploaded batch input file. */
  public static final String PURPOSE_BATCH = "batch";

  /** The purpose of the files a batch writes. */
  public static final String PURPOSE_BATCH_OUTPUT = "batch_output";

  private final BatchStore store;
  private final FileStore files;
  private final LongSupplier maxFileBytes;
  private final LongSupplier wallMillis;

  /** A file's bytes written to disk, not yet registered (the upload's other fields pending). */
  public record Staged(String id, String filename, long bytes) {}

  /**
   * @param maxFileBytes {@code batches.max_file_bytes}, read at each upload (reloadable)
   */
  public FileService(
      BatchStore store, FileStore files, LongSupplier maxFileBytes, LongSupplier wallMillis) {
    this.store = store;
    this.files = files;
    this.maxFileBytes = maxFileBytes;
    this.wallMillis = wallMillis;
  }

  public FileStore fileStore() {
    return files;
  }

  /** The largest upload accepted now. */
  public long maxFileBytes() {
    return maxFileBytes.getAsLong();
  }

  /**
   * Writes an upload's bytes to disk as they arrive (atomically, never more than {@link
   * #maxFileBytes} kept).
   *
   * @throws ApiError {@code 413} when the file is larger than allowed
   * @throws IOException when reading the upload fails (the client went away)
   */
  public Staged stage(String filename, InputStream content) throws IOException {
    String id = BatchIds.file();
    long max = maxFileBytes();
    try {
      long bytes = files.write(id, content, max);
      return new Staged(id, filename, bytes);
    } catch (FileStore.TooLargeException e) {
      throw tooLarge(max);
    }
  }

  /** The {@code 413} of a file above {@code batches.max_file_bytes}. */
  public static ApiError tooLarge(long max) {
    return new ApiError(
        413,
        "invalid_request_error",
        "The file is larger than the "
            + max
            + " bytes this gateway accepts (batches.max_file_bytes).",
        "file",
        "file_too_large",
        -1);
  }

  /**
   * Registers a staged upload as the caller's file of {@code purpose}; refuses (and removes the
   * bytes) a purpose other than {@code batch}.
   */
  public FileRecord register(@Nullable String caller, Staged staged, @Nullable String purpose) {
    if (purpose == null || purpose.isEmpty()) {
      discard(staged);
      throw ApiError.invalid(
          "Missing required parameter: 'purpose'.", "purpose", "missing_required_parameter");
    }
    if (!PURPOSE_BATCH.equals(purpose)) {
      discard(staged);
      throw ApiError.invalid(
          "Invalid value for 'purpose': '"
              + (purpose.length() > 64 ? purpose.substring(0, 64) + "..." : purpose)
              + "'. This gateway stores files for the Batch API only: use 'batch'.",
          "purpose",
          "invalid_value");
    }
    FileRecord file =
        new FileRecord(
            staged.id(), caller, staged.filename(), purpose, staged.bytes(), nowSeconds());
    try {
      store.insertFile(file);
    } catch (RuntimeException e) {
      discard(staged);
      throw e;
    }
    return file;
  }

  /** Removes a staged upload's bytes (the upload was refused). */
  public void discard(Staged staged) {
    try {
      files.delete(staged.id());
    } catch (IOException e) {
      LOG.warn("could not remove the refused upload {}: {}", staged.id(), e.toString());
    }
  }

  /** The caller's file; {@code 404} when there is none or it is another key's. */
  public FileRecord get(@Nullable String caller, String id) {
    return store
        .file(id)
        .filter(f -> visible(caller, f.ownerKeyId()))
        .orElseThrow(() -> notFound(id));
  }

  /** The caller's files, newest first. */
  public Page<FileRecord> list(
      @Nullable String caller, @Nullable String purpose, @Nullable String after, int limit) {
    List<FileRecord> fetched = store.files(caller, purpose, after, limit + 1);
    return Page.of(fetched, limit);
  }

  /** The content of the caller's file. */
  public InputStream content(@Nullable String caller, String id) {
    FileRecord file = get(caller, id);
    try {
      return files.open(file.id());
    } catch (IOException e) {
      LOG.error(
          "the file {} is in the database but its bytes cannot be read: {}", id, e.toString());
      throw new ApiError(
          500,
          "server_error",
          "The file's content cannot be read (see the gateway's log).",
          null,
          "file_unreadable",
          -1);
    }
  }

  /** Deletes the caller's file: its metadata, then its bytes. */
  public FileRecord delete(@Nullable String caller, String id) {
    FileRecord file = get(caller, id);
    if (!store.deleteFile(id)) {
      throw notFound(id);
    }
    try {
      files.delete(id);
    } catch (IOException | IllegalArgumentException e) {
      LOG.warn("the deleted file {} keeps its bytes on disk: {}", id, e.toString());
    }
    return file;
  }

  /** Whether a caller sees what {@code owner} owns: open mode sees everything. */
  static boolean visible(@Nullable String caller, @Nullable String owner) {
    return caller == null || caller.equals(owner);
  }

  static ApiError notFound(String id) {
    return ApiError.notFound("No such File object: " + shorten(id), "id", "file_not_found");
  }

  static String shorten(String s) {
    return s.length() > 128 ? s.substring(0, 128) + "..." : s;
  }

  private long nowSeconds() {
    return wallMillis.getAsLong() / 1000;
  }
}
