package dev.penstock.mock;

import java.util.Map;

/**
 * What the referee saw of one key, as served by {@code GET /__stats} (field names in snake_case
 * there). "Peak" figures count every request that arrived, accepted or not, so they judge the
 * client: a gateway that respects the key's limits keeps {@code peakRequests60s <= rpm} and {@code
 * peakTokens60s <= tpm} and never receives a {@code 429}.
 *
 * @param requests requests that arrived with this key (after authentication and parsing)
 * @param accepted requests the limiter let through
 * @param succeeded {@code 2xx} answers completed
 * @param rateLimited {@code 429} rate-limit answers, requests + tokens
 * @param tooLarge requests larger than the whole TPM limit ("Request too large")
 * @param peakRequests60s the most requests that arrived within any 60-second window
 * @param peakTokens60s the most tokens (prompt + output cap) that arrived within any 60 s window
 * @param peakRequests1s the most requests that arrived within one calendar second
 * @param faults injected faults by kind
 */
public record KeyStats(
    String name,
    long rpm,
    long tpm,
    boolean dead,
    long requests,
    long accepted,
    long succeeded,
    long rateLimited,
    long rateLimitedRequests,
    long rateLimitedTokens,
    long tooLarge,
    long peakRequests60s,
    long peakTokens60s,
    long peakRequests1s,
    long promptTokens,
    long completionTokens,
    Map<String, Long> faults) {

  public KeyStats {
    faults = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(faults));
  }
}
