package dev.penstock.server.batch;

/**
 * One input line of a batch.
 *
 * @param index its 0-based position in the input file (its output keeps that order)
 * @param customId the caller's {@code custom_id}, unique in the batch
 * @param body the request body, exactly as the line gave it
 * @param attempts how many times a worker took it (a line taken again after a crash counts twice)
 */
public record BatchLine(int index, String customId, String body, int attempts) {}
