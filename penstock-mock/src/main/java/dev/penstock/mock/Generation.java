package dev.penstock.mock;

import java.util.ArrayList;
import java.util.List;

/**
 * One simulated answer: its id, timing-independent content and usage. The text is made of
 * single-token words, so {@code completionTokens} is honest about what was sent.
 *
 * @param pieces the answer's tokens in order, one stream delta each
 * @param finishReason {@code stop}, or {@code length} when the output cap cut the answer short
 */
record Generation(
    String id,
    long createdEpochSeconds,
    String model,
    List<String> pieces,
    int promptTokens,
    int completionTokensPerChoice,
    int n,
    String finishReason) {

  private static final String[] WORDS = {
    "The",
    " quick",
    " answer",
    " is",
    " that",
    " the",
    " pool",
    " of",
    " keys",
    " keeps",
    " up",
    " with",
    " the",
    " load",
    " and",
    " no",
    " request",
    " waits",
    " longer",
    " than",
    " it",
    " must",
    ".",
    " Every",
    " key",
    " stays",
    " under",
    " its",
    " limit",
    ","
  };

  static Generation of(String id, long createdEpochSeconds, MockRequest request, int outputTokens) {
    int produced = Math.min(outputTokens, request.outputCap());
    List<String> pieces = new ArrayList<>(produced);
    for (int i = 0; i < produced; i++) {
      pieces.add(WORDS[i % WORDS.length]);
    }
    String finish = outputTokens > request.outputCap() ? "length" : "stop";
    return new Generation(
        id,
        createdEpochSeconds,
        request.model(),
        List.copyOf(pieces),
        request.promptTokens(),
        produced,
        request.n(),
        finish);
  }

  String text() {
    return String.join("", pieces);
  }

  int completionTokens() {
    return completionTokensPerChoice * n;
  }
}
