package dev.penstock.server.batch;

import org.jspecify.annotations.Nullable;

/**
 * A stored file's metadata (its bytes live in the data directory, {@code files/<id>}).
 *
 * @param id {@code file-} and 24 hex digits
 * @param ownerKeyId the virtual key that uploaded it (or whose batch produced it); null in open
 *     mode
 * @param purpose {@code batch} (uploaded), {@code batch_output} (written by a batch)
 * @param createdAt seconds since the epoch, as OpenAI's {@code created_at}
 */
public record FileRecord(
    String id,
    @Nullable String ownerKeyId,
    String filename,
    String purpose,
    long bytes,
    long createdAt) {}
