package dev.penstock.server.batch;

/** How fast a batch's lines are being answered: the executor knows; the admin views show it. */
@FunctionalInterface
public interface BatchProgress {
  /** None known: every batch at 0 (the admin views then give no ETA). */
  BatchProgress NONE = batchId -> 0;

  /** Lines finished per minute lately (0 when unknown or idle). */
  double linesPerMinute(String batchId);
}
