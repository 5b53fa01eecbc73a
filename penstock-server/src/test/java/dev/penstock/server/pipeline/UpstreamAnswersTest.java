package dev.penstock.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.server.pipeline.UpstreamAnswers.Verdict;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The classification of upstream answers, as a table: (status, content type, body) → verdict. */
class UpstreamAnswersTest {
  private record Row(int status, String contentType, String body, Verdict verdict) {}

  private static final String RATE_LIMIT =
      "{\"error\":{\"message\":\"Rate limit reached for gpt-4o in organization org-x on requests"
          + " per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.\","
          + "\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}";
  private static final String TOO_LARGE_MESSAGE =
      "Request too large for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000,"
          + " Requested 50000.";
  private static final String TOO_LARGE =
      "{\"error\":{\"message\":\""
          + TOO_LARGE_MESSAGE
          + "\",\"type\":\"tokens\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}";

  private static final List<Row> TABLE =
      List.of(
          new Row(200, "application/json", "", new Verdict.Success(false)),
          new Row(200, "text/event-stream", "", new Verdict.Success(true)),
          new Row(200, "text/event-stream; charset=utf-8", "", new Verdict.Success(true)),
          // media types are case-insensitive (RFC 9110 8.3.1)
          new Row(200, "Text/Event-Stream", "", new Verdict.Success(true)),
          new Row(200, "", "", new Verdict.Success(false)),
          new Row(201, "application/json", "", new Verdict.Success(false)),
          new Row(204, "", "", new Verdict.Success(false)),
          new Row(
              429,
              "application/json",
              RATE_LIMIT,
              new Verdict.RateLimited(
                  "Rate limit reached for gpt-4o in organization org-x on requests per min (RPM):"
                      + " Limit 500, Used 500, Requested 1. Please try again in 120ms.")),
          new Row(
              429,
              "application/json",
              "{\"error\":{\"message\":\"You exceeded your current quota\","
                  + "\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}",
              new Verdict.QuotaExhausted()),
          new Row(
              429,
              "application/json",
              "{\"error\":{\"message\":\"quota\",\"type\":\"insufficient_quota\",\"code\":null}}",
              new Verdict.QuotaExhausted()),
          new Row(429, "application/json", TOO_LARGE, new Verdict.TooLarge(TOO_LARGE_MESSAGE)),
          new Row(429, "text/html", "<html>Too Many Requests</html>", new Verdict.RateLimited("")),
          new Row(429, "", "", new Verdict.RateLimited("")),
          new Row(500, "application/json", "{\"error\":{}}", new Verdict.Retryable()),
          new Row(502, "text/html", "<html>Bad Gateway</html>", new Verdict.Retryable()),
          new Row(503, "", "", new Verdict.Retryable()),
          new Row(504, "", "", new Verdict.Retryable()),
          new Row(501, "application/json", "{}", new Verdict.PassThrough(false)),
          new Row(520, "", "", new Verdict.PassThrough(false)),
          new Row(599, "", "", new Verdict.PassThrough(false)),
          new Row(400, "application/json", "{}", new Verdict.PassThrough(true)),
          new Row(401, "application/json", "{}", new Verdict.PassThrough(true)),
          new Row(404, "application/json", "{}", new Verdict.PassThrough(true)),
          new Row(422, "application/json", "{}", new Verdict.PassThrough(true)),
          new Row(100, "", "", new Verdict.Invalid()),
          new Row(101, "", "", new Verdict.Invalid()),
          new Row(301, "text/html", "", new Verdict.Invalid()),
          new Row(302, "", "", new Verdict.Invalid()),
          new Row(304, "", "", new Verdict.Invalid()),
          new Row(0, "", "", new Verdict.Invalid()),
          new Row(-1, "", "", new Verdict.Invalid()),
          new Row(600, "", "", new Verdict.Invalid()),
          new Row(999, "application/json", "{}", new Verdict.Invalid()));

  @Test
  void everyAnswerHasItsVerdict() {
    for (Row row : TABLE) {
      assertThat(
              UpstreamAnswers.classify(
                  row.status(), row.contentType(), row.body().getBytes(StandardCharsets.UTF_8)))
          .as("%d %s %s", row.status(), row.contentType(), row.body())
          .isEqualTo(row.verdict());
    }
  }
}
