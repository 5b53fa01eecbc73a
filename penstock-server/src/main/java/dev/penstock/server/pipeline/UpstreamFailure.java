package dev.penstock.server.pipeline;

/**
 * The request ends with its last failed attempt's answer: no attempt is left, or none could finish
 * in time. Thrown by {@link UpstreamStage}, answered by {@link AnswerStage}.
 */
final class UpstreamFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;
  final transient Failure failure;

  UpstreamFailure(Failure failure) {
    super(null, null, false, false);
    this.failure = failure;
  }
}
