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

  @Test
  void findsUsageWhateverTheSpacingAndKeyOrder() {
    String stream =
        "data: {\"usage\": {\"total_tokens\": 12, \"completion_tokens\": 3, \"prompt_tokens\": 9},"
            + " \"choices\": [], \"id\": \"c1\"}\n\n"
            + "data: [DONE]\n\n";
    for (int piece : new int[] {1, 2, 5, 1000}) {
      SseRelay relay = new SseRelay();
      feedInPieces(relay, stream, piece);
      assertThat(relay.usage()).isEqualTo(new Usage(9, 3));
      assertThat(relay.finished()).isTrue();
    }
  }

  @Test
  void aNullUsageBeforeTheUsageChunkIsNotUsage() {
    SseRelay relay = new SseRelay();
    feedInPieces(relay, "data: {\"id\":\"c1\",\"usage\":null,\"choices\":[]}\n\n", 3);
    assertThat(relay.usage().known()).isFalse();
    assertThat(relay.sawErrorEvent()).isFalse();
  }

  @Test
  void aResponsesTerminalEventIsSeenWithItsTypeLast() {
    SseRelay relay = new SseRelay();
    feedInPieces(
        relay,
        "data: {\"response\": {\"id\": \"resp_1\", \"usage\": {\"output_tokens\": 2,"
            + " \"input_tokens\": 5}}, \"sequence_number\": 9, \"type\": \"response.completed\"}\n\n",
        7);
    assertThat(relay.finished()).isTrue();
    assertThat(relay.usage()).isEqualTo(new Usage(5, 2));
  }

  @Test
  void aResponsesTerminalEventIsSeenByItsEventFieldAlone() {
    for (String terminal :
        new String[] {"response.completed", "response.incomplete", "response.failed"}) {
      SseRelay relay = new SseRelay();
      feedInPieces(
          relay,
          "event: "
              + terminal
              + "\r\ndata: {\"response\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":2}}}\r\n\r\n",
          2);
      assertThat(relay.finished()).as(terminal).isTrue();
      assertThat(relay.usage()).isEqualTo(new Usage(5, 2));
    }
  }

  @Test
  void aResponsesDeltaIsNotTheEnd() {
    SseRelay relay = new SseRelay();
    feedInPieces(
        relay,
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
            + "\"delta\":\"response.completed\"}\n\n",
        3);
    assertThat(relay.finished()).isFalse();
  }

  @Test
  void aDoneInsideAnEventsJsonIsNotTheEnd() {
    SseRelay relay = new SseRelay();
    feedInPieces(relay, "data: {\"choices\":[{\"delta\":{\"content\":\"data: [DONE]\"}}]}\n\n", 4);
    assertThat(relay.finished()).isFalse();
  }

  @Test
  void notesAnErrorEventByItsEventField() {
    SseRelay relay = new SseRelay();
    feedInPieces(relay, "event: error\ndata: {\"message\":\"overloaded\"}\n\n", 5);
    assertThat(relay.sawErrorEvent()).isTrue();
    assertThat(relay.finished()).isFalse();
  }

  @Test
  void notesAResponsesErrorEventByItsType() {
    SseRelay relay = new SseRelay();
    feedInPieces(relay, "data: {\"code\":\"server_error\",\"type\":\"error\"}\n\n", 5);
    assertThat(relay.sawErrorEvent()).isTrue();
  }

  @Test
  void anErrorKeyThatIsNullIsNoError() {
    SseRelay relay = new SseRelay();
    feedInPieces(relay, "data: {\"error\":null,\"choices\":[]}\n\n", 100);
    assertThat(relay.sawErrorEvent()).isFalse();
  }

  @Test
  void anErrorEventCutAnywhereIsSeen() {
    String stream =
        "data: {\"id\":\"c1\"}\n\ndata: {\"error\": {\"message\": \"boom\", \"type\": \"server_error\"}}\r\n\r\n";
    for (int piece = 1; piece < stream.length(); piece++) {
      SseRelay relay = new SseRelay();
      feedInPieces(relay, stream, piece);
      assertThat(relay.sawErrorEvent()).as("pieces of %d", piece).isTrue();
    }
  }
}
