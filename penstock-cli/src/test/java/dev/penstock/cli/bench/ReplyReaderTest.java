package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReplyReaderTest {
  private final FakeBenchClock clock = new FakeBenchClock(0);

  private Completion read(Endpoint endpoint, boolean stream, InputStream body) {
    return new ReplyReader(endpoint, stream, clock)
        .read(new Transport.HttpReply(200, "org-a", 2_000, body));
  }

  private static InputStream text(String body) {
    return new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void jsonAnswerGivesUsageAndGatewayHeaders() {
    Completion completion =
        read(
            Endpoint.CHAT,
            false,
            text(
                """
                {"id":"chatcmpl-1","choices":[{"message":{"content":"hi"}}],
                 "usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}
                """));

    assertThat(completion.outcome()).isEqualTo(Outcome.OK);
    assertThat(completion.inputTokens()).isEqualTo(12);
    assertThat(completion.outputTokens()).isEqualTo(3);
    assertThat(completion.firstTokenNanos()).isEqualTo(Completion.NONE);
    assertThat(completion.deployment()).isEqualTo("org-a");
    assertThat(completion.queueMicros()).isEqualTo(2_000);
  }

  @Test
  void embeddingsAndResponsesSpellUsageTheirWay() {
    Completion embeddings =
        read(
            Endpoint.EMBEDDINGS,
            false,
            text(
                """
                {"object":"list","data":[{"embedding":[0.1,-0.2,0.3],"index":0}],
                 "usage":{"prompt_tokens":8,"total_tokens":8}}"""));
    Completion responses =
        read(
            Endpoint.RESPONSES,
            false,
            text("{\"output\":[],\"usage\":{\"input_tokens\":9,\"output_tokens\":4}}"));

    assertThat(embeddings.inputTokens()).isEqualTo(8);
    assertThat(embeddings.outputTokens()).isZero();
    assertThat(responses.inputTokens()).isEqualTo(9);
    assertThat(responses.outputTokens()).isEqualTo(4);
  }

  @Test
  void malformedOrTruncatedJsonIsABadBody() {
    assertThat(read(Endpoint.CHAT, false, text("{\"id\":")).outcome()).isEqualTo(Outcome.BAD_BODY);
    assertThat(read(Endpoint.CHAT, false, text("<html>oops</html>")).outcome())
        .isEqualTo(Outcome.BAD_BODY);
    assertThat(read(Endpoint.CHAT, false, text("{} {}")).outcome()).isEqualTo(Outcome.BAD_BODY);
  }

  @Test
  void chatStreamEndingWithDoneSucceedsWithUsageFromTheLastChunk() {
    Completion completion =
        read(
            Endpoint.CHAT,
            true,
            text(
                """
                : keep-alive

                data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}

                data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}

                data: {"choices":[{"index":0,"delta":{"content":"lo, my \\"usage\\" is"}}]}

                data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}

                data: [DONE]

                """));

    assertThat(completion.outcome()).isEqualTo(Outcome.OK);
    assertThat(completion.firstTokenNanos()).isNotEqualTo(Completion.NONE);
    assertThat(completion.inputTokens()).isEqualTo(7);
    assertThat(completion.outputTokens()).isEqualTo(2);
  }

  @Test
  void timeToFirstTokenIsTheFirstChunkCarryingText() {
    // The clock moves 10 ms each time the reader pulls bytes, so the time tells which chunk.
    InputStream body =
        new SequenceInputStream(
            Collections.enumeration(
                List.of(
                    ticking("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"),
                    ticking("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"),
                    ticking("data: [DONE]\n\n"))));

    Completion completion = read(Endpoint.CHAT, true, body);

    assertThat(completion.firstTokenNanos()).isEqualTo(20_000_000L);
    assertThat(completion.endNanos()).isEqualTo(30_000_000L);
  }

  private InputStream ticking(String chunk) {
    byte[] bytes = chunk.getBytes(StandardCharsets.UTF_8);
    return new InputStream() {
      private int position = -1;

      @Override
      public int read() {
        throw new UnsupportedOperationException("readers read in bulk");
      }

      @Override
      public int read(byte[] buffer, int offset, int length) {
        if (position < 0) {
          clock.advanceMillis(10);
          position = 0;
        }
        if (position == bytes.length) {
          return -1;
        }
        int n = Math.min(length, bytes.length - position);
        System.arraycopy(bytes, position, buffer, offset, n);
        position += n;
        return n;
      }
    };
  }

  @Test
  void streamCutBeforeDoneIsAStreamError() {
    Completion completion =
        read(
            Endpoint.CHAT,
            true,
            text("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"));

    assertThat(completion.outcome()).isEqualTo(Outcome.STREAM_ERROR);
  }

  @Test
  void streamCarryingAnErrorEventIsAStreamErrorEvenAfterDone() {
    Completion completion =
        read(
            Endpoint.CHAT,
            true,
            text(
                """
                data: {"choices":[{"delta":{"content":"Hel"}}]}

                data: {"error":{"message":"upstream reset","type":"server_error","code":null}}

                data: [DONE]

                """));

    assertThat(completion.outcome()).isEqualTo(Outcome.STREAM_ERROR);
  }

  @Test
  void streamFailingMidwayIsAStreamError() {
    InputStream failing =
        new SequenceInputStream(
            text("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"),
            new InputStream() {
              @Override
              public int read() throws IOException {
                throw new IOException("connection reset");
              }

              @Override
              public int read(byte[] b, int off, int len) throws IOException {
                throw new IOException("connection reset");
              }
            });

    assertThat(read(Endpoint.CHAT, true, failing).outcome()).isEqualTo(Outcome.STREAM_ERROR);
  }

  @Test
  void legacyCompletionsStreamCarriesTextInChoices() {
    Completion completion =
        read(
            Endpoint.COMPLETIONS,
            true,
            text(
                """
                data: {"choices":[{"text":"Once","index":0}]}

                data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1}}

                data: [DONE]
                """));

    assertThat(completion.outcome()).isEqualTo(Outcome.OK);
    assertThat(completion.firstTokenNanos()).isNotEqualTo(Completion.NONE);
    assertThat(completion.inputTokens()).isEqualTo(5);
  }

  @Test
  void responsesStreamEndsWithItsCompletedEventNotDone() {
    Completion completion =
        read(
            Endpoint.RESPONSES,
            true,
            text(
                """
                event: response.created
                data: {"type":"response.created","response":{"id":"resp_1","usage":null}}

                event: response.output_text.delta
                data: {"type":"response.output_text.delta","delta":"Hi"}

                event: response.incomplete
                data: {"type":"response.incomplete","response":{"usage":{"input_tokens":6,"output_tokens":64}}}

                """));

    assertThat(completion.outcome()).isEqualTo(Outcome.OK);
    assertThat(completion.firstTokenNanos()).isNotEqualTo(Completion.NONE);
    assertThat(completion.inputTokens()).isEqualTo(6);
    assertThat(completion.outputTokens()).isEqualTo(64);
  }

  @Test
  void responsesStreamWithAFailedEventIsAStreamError() {
    Completion completion =
        read(
            Endpoint.RESPONSES,
            true,
            text(
                """
                data: {"type":"response.output_text.delta","delta":"Hi"}

                data: {"type":"response.failed","response":{"error":{"code":"server_error"}}}

                """));

    assertThat(completion.outcome()).isEqualTo(Outcome.STREAM_ERROR);
  }
}
