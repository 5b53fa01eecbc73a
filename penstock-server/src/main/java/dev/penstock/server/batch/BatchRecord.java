package dev.penstock.server.batch;

import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A batch as stored: everything OpenAI's batch object carries, plus its owner and model.
 *
 * <p>Timestamps are seconds since the epoch (OpenAI's unit), 0 when the event has not happened.
 * Counts are derived from the lines by the store when it reads a batch.
 *
 * @param id {@code batch_} and 24 hex digits
 * @param ownerKeyId the virtual key that created it; null in open mode
 * @param endpoint {@code /v1/chat/completions}, {@code /v1/embeddings}, {@code /v1/completions} or
 *     {@code /v1/responses}
 * @param model the one model all its lines name (known once validated; "" before)
 * @param errors validation errors ({@code errors.data[]}), empty when none
 * @param usageInputTokens summed from the answered lines (as are the other usage figures)
 */
public record BatchRecord(
    String id,
    @Nullable String ownerKeyId,
    String endpoint,
    String model,
    String inputFileId,
    String completionWindow,
    BatchStatus status,
    Map<String, String> metadata,
    java.util.List<BatchError> errors,
    @Nullable String outputFileId,
    @Nullable String errorFileId,
    long createdAt,
    long inProgressAt,
    long expiresAt,
    long finalizingAt,
    long completedAt,
    long failedAt,
    long expiredAt,
    long cancellingAt,
    long cancelledAt,
    int total,
    int completed,
    int failed,
    long usageInputTokens,
    long usageCachedTokens,
    long usageOutputTokens,
    long usageReasoningTokens) {

  /** A validation error of the input file: OpenAI's {@code errors.data[]} item. */
  public record BatchError(String code, String message, @Nullable String param, int line) {}
}
