package dev.penstock.server.tenant;

/**
 * One request's line in the usage ledger, written once when the request ends.
 *
 * @param timeMillis when the request arrived (epoch milliseconds, UTC)
 * @param requestId the {@code x-request-id} it was answered with
 * @param keyId the virtual key's id, or {@code ""} in open mode
 * @param model the public model asked for ({@code ""} when the request named none)
 * @param deployment the deployment of the last attempt, {@code ""} when none was made
 * @param priority {@code high}, {@code normal} or {@code low}
 * @param status the HTTP status the client got (0 when the client left before an answer)
 * @param inputTokens prompt tokens, from the upstream's usage (0 when unknown)
 * @param cachedTokens of the prompt tokens, those the provider served from its prompt cache
 * @param outputTokens completion tokens, from the upstream's usage (0 when unknown)
 * @param costUsd what the request cost, from the pricing table
 * @param queueMs time spent waiting for capacity
 * @param latencyMs time from arrival to the answer's end
 * @param attempts attempts made upstream
 * @param cache the cache result: {@code hit}, {@code semantic-hit}, {@code miss}, {@code bypass} or
 *     {@code ""}
 * @param savedTokens tokens a cache hit saved (the cached answer's usage), else 0
 * @param savedUsd what a cache hit saved at the pricing table's prices, else 0
 */
public record LedgerEntry(
    long timeMillis,
    String requestId,
    String keyId,
    String model,
    String deployment,
    String priority,
    int status,
    long inputTokens,
    long cachedTokens,
    long outputTokens,
    double costUsd,
    long queueMs,
    long latencyMs,
    int attempts,
    String cache,
    long savedTokens,
    double savedUsd) {}
