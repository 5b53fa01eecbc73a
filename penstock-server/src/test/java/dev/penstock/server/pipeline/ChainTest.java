package dev.penstock.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The chain checks its own contract: proceed at most once, and the last stage answers. */
class ChainTest {
  private final List<String> served = new ArrayList<>();

  private static ProxyCall call() {
    return PipelineHarness.call(RecordingExchange.of("{}"), PipelineHarness.NO_ROUTES, 0);
  }

  /** A stage that notes it was served, then proceeds. */
  private final class ProceedsOnce implements Stage {
    @Override
    public void serve(ProxyCall call, Chain chain) throws InterruptedException {
      served.add("once");
      chain.proceed(call);
    }
  }

  private final class ProceedsTwice implements Stage {
    @Override
    public void serve(ProxyCall call, Chain chain) throws InterruptedException {
      served.add("twice");
      chain.proceed(call);
      chain.proceed(call);
    }
  }

  private Stage answers() {
    return (call, chain) -> served.add("answers");
  }

  @Test
  void stagesAreServedInOrderUntilOneAnswers() throws Exception {
    new Chain(List.of(new ProceedsOnce(), answers(), new ProceedsOnce()), 0).proceed(call());

    assertThat(served).containsExactly("once", "answers");
  }

  @Test
  void aStageThatProceedsTwiceFailsBeforeTheNextStageRunsAgain() {
    assertThatThrownBy(() -> new Chain(List.of(new ProceedsTwice(), answers()), 0).proceed(call()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("ProceedsTwice called proceed() twice");

    assertThat(served).containsExactly("twice", "answers");
  }

  @Test
  void theLastStageMustAnswerNotProceed() {
    assertThatThrownBy(
            () -> new Chain(List.of(new ProceedsOnce(), new ProceedsOnce()), 0).proceed(call()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("the last stage must answer");

    assertThat(served).containsExactly("once", "once");
  }
}
