/**
 * {@code penstock bench}: a load generator for any OpenAI-compatible base URL (see docs/bench.md).
 *
 * <p>{@link dev.penstock.cli.bench.BenchCommand} parses the command line into {@link
 * dev.penstock.cli.bench.BenchOptions}; {@link dev.penstock.cli.bench.BenchRun} drives the load
 * (open loop at a fixed rate, or closed loop at a fixed concurrency), one virtual thread per
 * request, and returns a {@link dev.penstock.cli.bench.BenchResult}, which renders as a text table,
 * as JSON for scripts, or as a self-contained HTML report with inline SVG charts. Other commands
 * (the demo) call {@code BenchRun.run} in-process.
 *
 * <p>Threads: one driver thread (the open-loop scheduler or the closed-loop launcher), one virtual
 * thread per request, and the caller's thread, which sweeps timed-out requests and reports
 * progress. All shared state lives in {@code BenchRecorder} (lock-free counters and concurrent
 * histograms) and {@code InFlightRequests} (a concurrent map whose {@code remove} decides which
 * thread settles a request, so every request gets exactly one outcome).
 */
package dev.penstock.cli.bench;
