/**
 * OpenAI's Files and Batches API, executed by Penstock over the pool's spare capacity (SPEC 7,
 * docs/batches.md).
 *
 * <p>{@link dev.penstock.server.batch.BatchStore} keeps everything durable: file metadata, batches
 * and one row per input line whose state (pending, claimed with an expiry, done, failed) changes in
 * the same transaction that stores the line's result. The output and error files are written from
 * those rows at the end, so a crash can neither lose a line nor write one twice.
 */
@NullMarked
package dev.penstock.server.batch;

import org.jspecify.annotations.NullMarked;
