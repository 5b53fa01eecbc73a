package dev.penstock.server.pipeline;

/**
 * The client left (or stopped reading) before its answer was complete: there is nobody to answer.
 * Thrown by the stage that notices, after it released what it held; {@link AnswerStage} records it.
 */
final class ClientGone extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String reason;

  ClientGone(String reason) {
    super(reason, null, false, false);
    this.reason = reason;
  }

  /** {@code client_closed} or {@code client_stalled}. */
  String reason() {
    return reason;
  }
}
