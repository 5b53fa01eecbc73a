package dev.penstock.server.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class SseRelayTest {
  private static void feedInPieces(SseRelay relay, String stream, int pieceSize) {
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < bytes.length; i += pieceSize) {
      relay.accept(bytes, i, Math.min(pieceSize, bytes.length - i));
    }
  }

  @Test
  void findsUsageAndDoneHoweverTheBytesAreCut() {
    // The second event ends in CRLFs, the others in LFs: a stream may mix them.
    String stream =
        """
        data: {"choices":[{"delta":{"content":"Hi"}}],"usage":null}

        data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}\r
        \r
        data: [DONE]

        """;
    for (int piece : new int[] {1, 3, 7, 1000}) {
      SseRelay relay = new SseRelay();
      feedInPieces(relay, stream, piece);
      assertThat(relay.usage()).isEqualTo(new Usage(9, 3));
      assertThat(relay.finished()).isTrue();
    }
  }

  @Test
  void aStreamWithoutDoneIsNotFinished() {
    SseRelay relay = new SseRelay();
    feedInPieces(relay, "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n", 5);
    assertThat(relay.finished()).isFalse();
    assertThat(relay.usage().known()).isFalse();
  }

  @Test
  void responsesStreamsEndWithATerminalEventCarryingUsage() {
    SseRelay relay = new SseRelay();
    feedInPieces(
        relay,
        """
        event: response.output_text.delta
        data: {"type":"response.output_text.delta","delta":"x"}

        event: response.completed
        data: {"type":"response.completed","response":{"usage":{"input_tokens":5,"output_tokens":2}}}

        """,
        4);
    assertThat(relay.finished()).isTrue();
    assertThat(relay.usage()).isEqualTo(new Usage(5, 2));
  }

  @Test
  void notesAnErrorEventFromTheUpstream() {
    SseRelay relay = new SseRelay();
    feedInPieces(relay, "data: {\"error\":{\"message\":\"boom\"}}\n\n", 100);
    assertThat(relay.sawErrorEvent()).isTrue();
  }
}
