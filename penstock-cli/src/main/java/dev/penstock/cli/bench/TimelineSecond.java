package dev.penstock.cli.bench;

/**
 * One second of a run, for the report's charts.
 *
 * @param second seconds since the start
 * @param sent requests due in this second (sent or dropped)
 * @param ok 2xx completions that ended in this second
 * @param rateLimited 429 completions that ended in this second
 * @param errors every other outcome that ended in this second, timeouts and drops included
 * @param tokens input plus output tokens of the 2xx completions that ended in this second
 */
public record TimelineSecond(
    int second, long sent, long ok, long rateLimited, long errors, long tokens) {}
