package dev.penstock.core.limit;

/**
 * What one reservation charged a deployment: a handle for settling it later.
 *
 * @param sequence the reservation's entry in the deployment's log
 * @param tokens the tokens charged at reservation: {@code promptTokens + outputTokens}
 * @param batch whether it was work of {@link dev.penstock.core.queue.Priority#BATCH} (see {@link
 *     DeploymentLimiter#reserveBatch})
 */
public record Charge(
    long sequence, long promptTokens, long outputTokens, long tokens, boolean batch) {}
