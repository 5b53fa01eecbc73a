package dev.penstock.server.batch;

/**
 * Runs one line of a batch and says what became of it; {@link PipelineLineExecutor} sends it
 * through the gateway's pipeline. Called on a virtual thread of its own, many at once.
 */
@FunctionalInterface
public interface LineExecutor {

  /**
   * Runs {@code line} of {@code batch}; never throws for an answer, however bad (every answer is an
   * outcome).
   *
   * @throws InterruptedException when the runner stops and the line got no answer (it is released)
   */
  LineOutcome run(BatchRecord batch, BatchLine line) throws InterruptedException;
}
