package dev.penstock.server.batch;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * OpenAI's objects as the SDKs read them: the file object, the batch object (every field the
 * openai-java {@code Batch} models; events that have not happened are null), their lists, and the
 * admin view of a batch (with its owner and progress).
 */
public final class BatchJson {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private BatchJson() {}

  /** OpenAI's file object. */
  public static ObjectNode file(FileRecord f) {
    ObjectNode o = NODES.objectNode();
    o.put("id", f.id());
    o.put("object", "file");
    o.put("bytes", f.bytes());
    o.put("created_at", f.createdAt());
    o.put("filename", f.filename());
    o.put("purpose", f.purpose());
    o.put("status", "processed");
    o.putNull("status_details");
    o.putNull("expires_at");
    return o;
  }

  /** The answer to a deletion. */
  public static ObjectNode deleted(String fileId) {
    ObjectNode o = NODES.objectNode();
    o.put("id", fileId);
    o.put("object", "file");
    o.put("deleted", true);
    return o;
  }

  /** OpenAI's batch object. */
  public static ObjectNode batch(BatchRecord b) {
    ObjectNode o = NODES.objectNode();
    o.put("id", b.id());
    o.put("object", "batch");
    o.put("endpoint", b.endpoint());
    if (b.model().isEmpty()) {
      o.putNull("model");
    } else {
      o.put("model", b.model());
    }
    if (b.errors().isEmpty()) {
      o.putNull("errors");
    } else {
      ObjectNode errors = o.putObject("errors");
      errors.put("object", "list");
      ArrayNode data = errors.putArray("data");
      for (BatchRecord.BatchError e : b.errors()) {
        ObjectNode item = data.addObject();
        item.put("code", e.code());
        item.put("message", e.message());
        item.put("param", e.param());
        if (e.line() > 0) {
          item.put("line", e.line());
        } else {
          item.putNull("line");
        }
      }
    }
    o.put("input_file_id", b.inputFileId());
    o.put("completion_window", b.completionWindow());
    o.put("status", b.status().wireName());
    o.put("output_file_id", b.outputFileId());
    o.put("error_file_id", b.errorFileId());
    o.put("created_at", b.createdAt());
    time(o, "in_progress_at", b.inProgressAt());
    time(o, "expires_at", b.expiresAt());
    time(o, "finalizing_at", b.finalizingAt());
    time(o, "completed_at", b.completedAt());
    time(o, "failed_at", b.failedAt());
    time(o, "expired_at", b.expiredAt());
    time(o, "cancelling_at", b.cancellingAt());
    time(o, "cancelled_at", b.cancelledAt());
    ObjectNode counts = o.putObject("request_counts");
    counts.put("total", b.total());
    counts.put("completed", b.completed());
    counts.put("failed", b.failed());
    ObjectNode metadata = o.putObject("metadata");
    for (Map.Entry<String, String> e : b.metadata().entrySet()) {
      metadata.put(e.getKey(), e.getValue());
    }
    ObjectNode usage = o.putObject("usage");
    usage.put("input_tokens", b.usageInputTokens());
    usage.putObject("input_tokens_details").put("cached_tokens", b.usageCachedTokens());
    usage.put("output_tokens", b.usageOutputTokens());
    usage.putObject("output_tokens_details").put("reasoning_tokens", b.usageReasoningTokens());
    usage.put("total_tokens", b.usageInputTokens() + b.usageOutputTokens());
    return o;
  }

  /**
   * The admin view of a batch: OpenAI's object, its owner ({@code {"id","name"}}, null in open
   * mode) and its progress ({@code pending, claimed, done, failed, lines_per_minute, eta_seconds};
   * no ETA without a rate).
   */
  public static ObjectNode admin(
      BatchRecord b,
      @Nullable String ownerName,
      BatchStore.LineCounts counts,
      double linesPerMinute) {
    ObjectNode o = batch(b);
    if (b.ownerKeyId() == null) {
      o.putNull("owner");
    } else {
      ObjectNode owner = o.putObject("owner");
      owner.put("id", b.ownerKeyId());
      owner.put("name", ownerName);
    }
    ObjectNode progress = o.putObject("progress");
    progress.put("pending", counts.pending());
    progress.put("claimed", counts.claimed());
    progress.put("done", counts.done());
    progress.put("failed", counts.failed());
    progress.put("lines_per_minute", linesPerMinute);
    int left = counts.pending() + counts.claimed();
    if (linesPerMinute > 0 && !b.status().terminal()) {
      progress.put("eta_seconds", (long) Math.ceil(left * 60.0 / linesPerMinute));
    } else {
      progress.putNull("eta_seconds");
    }
    return o;
  }

  /** OpenAI's list: {@code {object: "list", data, has_more, first_id, last_id}}. */
  public static <T> ObjectNode list(
      Page<T> page, Function<T, ObjectNode> render, Function<T, String> id) {
    ObjectNode o = NODES.objectNode();
    o.put("object", "list");
    ArrayNode data = o.putArray("data");
    List<T> items = page.data();
    for (T item : items) {
      data.add(render.apply(item));
    }
    o.put("has_more", page.hasMore());
    o.put("first_id", items.isEmpty() ? null : id.apply(items.get(0)));
    o.put("last_id", items.isEmpty() ? null : id.apply(items.get(items.size() - 1)));
    return o;
  }

  private static void time(ObjectNode o, String field, long seconds) {
    if (seconds > 0) {
      o.put(field, seconds);
    } else {
      o.putNull(field);
    }
  }
}
