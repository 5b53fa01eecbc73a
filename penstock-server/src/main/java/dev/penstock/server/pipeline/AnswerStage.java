package dev.penstock.server.pipeline;

import dev.penstock.server.openai.ApiError;
import dev.penstock.server.telemetry.Outcome;
import dev.penstock.server.telemetry.RequestRecord;
import java.util.Map;

/**
 * Answers for every way a request can end without the upstream's answer: Penstock's own refusals
 * ({@link ApiError}, OpenAI's error shape with the right status), the last failed attempt's answer
 * ({@link UpstreamFailure}), shutdown — or silence, when the client left. The one place where the
 * pipeline's exceptions meet the client; every answer carries the call's {@code x-request-id} and
 * {@code x-penstock-*} headers.
 */
final class AnswerStage implements Stage {
  @Override
  public void serve(ProxyCall call, Chain chain) {
    RequestRecord record = call.record();
    try {
      chain.proceed(call);
    } catch (ClientGone e) {
      record.failed(
          Outcome.CLIENT_CLOSED, e.reason(), "The client left before its answer was complete.");
      call.exchange().leaveUnanswered();
    } catch (UpstreamFailure e) {
      Failure failure = e.failure;
      record.failed(Outcome.UPSTREAM_ERROR, failure.code(), failure.message());
      if (call.clientLeft()) {
        call.exchange().leaveUnanswered();
      } else {
        Map<String, String> headers = call.answerHeaders();
        headers.put("Content-Type", "application/json");
        call.exchange().send(failure.status(), headers, failure.body());
      }
    } catch (ApiError e) {
      record.failed(outcomeOf(e, record), e.code(), e.getMessage());
      if (call.clientLeft()) {
        call.exchange().leaveUnanswered();
      } else {
        ErrorResponses.send(call.exchange(), e, call.answerHeaders());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      ApiError shuttingDown = ErrorResponses.shuttingDown();
      record.failed(Outcome.OVERLOADED, shuttingDown.code(), shuttingDown.getMessage());
      ErrorResponses.send(call.exchange(), shuttingDown, call.answerHeaders());
    }
  }

  private static Outcome outcomeOf(ApiError e, RequestRecord record) {
    if (record.rejectedReason() != null && e.status() != 400) {
      return Outcome.OVERLOADED;
    }
    return e.status() >= 400 && e.status() < 500 ? Outcome.CLIENT_ERROR : Outcome.UPSTREAM_ERROR;
  }
}
