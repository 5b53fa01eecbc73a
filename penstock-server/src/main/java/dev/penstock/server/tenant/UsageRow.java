package dev.penstock.server.tenant;

/**
 * One group of a usage report.
 *
 * @param group the key id, model, day ({@code yyyy-MM-dd}, UTC) or deployment grouped by
 */
public record UsageRow(
    String group,
    long requests,
    long inputTokens,
    long cachedTokens,
    long outputTokens,
    double costUsd) {}
