package dev.penstock.server.pipeline;

import java.util.List;

/**
 * The stages after the current one. A stage calls {@link #proceed} at most once; the last stage
 * must answer instead. Both rules are checked, because a stage that proceeded twice would send the
 * request upstream twice.
 */
final class Chain {
  private final List<Stage> stages;
  private final int next;
  private boolean proceeded;

  Chain(List<Stage> stages, int next) {
    this.stages = stages;
    this.next = next;
  }

  /** Passes the request to the next stage, which serves it (answers or proceeds in turn). */
  void proceed(ProxyCall call) throws InterruptedException {
    if (proceeded) {
      throw new IllegalStateException(
          stages.get(next - 1).getClass().getSimpleName() + " called proceed() twice");
    }
    proceeded = true;
    if (next >= stages.size()) {
      throw new IllegalStateException("the last stage must answer, not proceed");
    }
    stages.get(next).serve(call, new Chain(stages, next + 1));
  }
}
