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
      SseRelay relay = SseRelay.watching();
      feedInPieces(relay, stream, piece);
      assertThat(relay.usage()).isEqualTo(new Usage(9, 3));
      assertThat(relay.finished()).isTrue();
    }
  }

  @Test
  void aStreamWithoutDoneIsNotFinished() {
    SseRelay relay = SseRelay.watching();
    feedInPieces(relay, "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n", 5);
    assertThat(relay.finished()).isFalse();
    assertThat(relay.usage().known()).isFalse();
  }

  @Test
  void responsesStreamsEndWithATerminalEventCarryingUsage() {
    SseRelay relay = SseRelay.watching();
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
    SseRelay relay = SseRelay.watching();
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
      SseRelay relay = SseRelay.watching();
      feedInPieces(relay, stream, piece);
      assertThat(relay.usage()).isEqualTo(new Usage(9, 3));
      assertThat(relay.finished()).isTrue();
    }
  }

  @Test
  void aNullUsageBeforeTheUsageChunkIsNotUsage() {
    SseRelay relay = SseRelay.watching();
    feedInPieces(relay, "data: {\"id\":\"c1\",\"usage\":null,\"choices\":[]}\n\n", 3);
    assertThat(relay.usage().known()).isFalse();
    assertThat(relay.sawErrorEvent()).isFalse();
  }

  @Test
  void aResponsesTerminalEventIsSeenWithItsTypeLast() {
    SseRelay relay = SseRelay.watching();
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
      SseRelay relay = SseRelay.watching();
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
    SseRelay relay = SseRelay.watching();
    feedInPieces(
        relay,
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
            + "\"delta\":\"response.completed\"}\n\n",
        3);
    assertThat(relay.finished()).isFalse();
  }

  @Test
  void aDoneInsideAnEventsJsonIsNotTheEnd() {
    SseRelay relay = SseRelay.watching();
    feedInPieces(relay, "data: {\"choices\":[{\"delta\":{\"content\":\"data: [DONE]\"}}]}\n\n", 4);
    assertThat(relay.finished()).isFalse();
  }

  @Test
  void notesAnErrorEventByItsEventField() {
    SseRelay relay = SseRelay.watching();
    feedInPieces(relay, "event: error\ndata: {\"message\":\"overloaded\"}\n\n", 5);
    assertThat(relay.sawErrorEvent()).isTrue();
    assertThat(relay.finished()).isFalse();
  }

  @Test
  void notesAResponsesErrorEventByItsType() {
    SseRelay relay = SseRelay.watching();
    feedInPieces(relay, "data: {\"code\":\"server_error\",\"type\":\"error\"}\n\n", 5);
    assertThat(relay.sawErrorEvent()).isTrue();
  }

  @Test
  void anErrorKeyThatIsNullIsNoError() {
    SseRelay relay = SseRelay.watching();
    feedInPieces(relay, "data: {\"error\":null,\"choices\":[]}\n\n", 100);
    assertThat(relay.sawErrorEvent()).isFalse();
  }

  @Test
  void anErrorEventCutAnywhereIsSeen() {
    String stream =
        "data: {\"id\":\"c1\"}\n\ndata: {\"error\": {\"message\": \"boom\", \"type\": \"server_error\"}}\r\n\r\n";
    for (int piece = 1; piece < stream.length(); piece++) {
      SseRelay relay = SseRelay.watching();
      feedInPieces(relay, stream, piece);
      assertThat(relay.sawErrorEvent()).as("pieces of %d", piece).isTrue();
    }
  }

  // ---- withholding the usage chunk from a client that did not ask for it

  private static final String HEL =
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}],"
          + "\"usage\":null}\n\n";
  private static final String LO =
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},"
          + "\"finish_reason\":\"stop\"}],\"usage\":null}\n\n";
  private static final String USAGE =
      "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
          + "\"completion_tokens\":2,\"total_tokens\":11,"
          + "\"prompt_tokens_details\":{\"cached_tokens\":4}}}\n\n";
  private static final String DONE = "data: [DONE]\n\n";

  /** Feeds {@code stream} in pieces; returns what the client gets: every release, then the rest. */
  private static String withhold(SseRelay relay, String stream, int pieceSize) {
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    java.io.ByteArrayOutputStream client = new java.io.ByteArrayOutputStream();
    for (int i = 0; i < bytes.length; i += pieceSize) {
      relay.accept(bytes, i, Math.min(pieceSize, bytes.length - i));
      client.writeBytes(relay.release());
    }
    client.writeBytes(relay.rest());
    return client.toString(StandardCharsets.UTF_8);
  }

  @Test
  void theUsageChunkIsReadButWithheldAndEverythingElseRelayedByteForByte() {
    for (int piece = 1; piece <= (HEL + LO + USAGE + DONE).length(); piece++) {
      SseRelay relay = SseRelay.withholdingUsage();

      String client = withhold(relay, HEL + LO + USAGE + DONE, piece);

      assertThat(client).as("pieces of %d", piece).isEqualTo(HEL + LO + DONE);
      assertThat(relay.usage()).isEqualTo(new Usage(9, 2, 4));
      assertThat(relay.finished()).isTrue();
    }
  }

  @Test
  void aWatchingRelayLeavesTheUsageChunkToTheClient() {
    SseRelay relay = SseRelay.watching();
    feedInPieces(relay, HEL + USAGE + DONE, 5);
    assertThat(relay.withholding()).isFalse();
    assertThat(relay.usage()).isEqualTo(new Usage(9, 2, 4));
  }

  /** CRLF line ends, a CR-only blank line, comments and spaced JSON: cut at the right bytes. */
  @Test
  void withholdingCutsAtBlockBoundsWhateverTheLineEnds() {
    String hel = ": keep-alive\r\n\r\n" + HEL.replace("\n", "\r\n");
    String usage =
        "data: {\"usage\": {\"completion_tokens\": 2, \"prompt_tokens\": 9},"
            + " \"choices\": [ ], \"id\": \"c1\"}\r\n\r\n";
    String lo = LO.replace("\n\n", "\r\r");
    String done = ": bye\ndata: [DONE]\n\n";
    for (int piece = 1; piece < 40; piece++) {
      SseRelay relay = SseRelay.withholdingUsage();

      String client = withhold(relay, hel + usage + lo + done, piece);

      assertThat(client).as("pieces of %d", piece).isEqualTo(hel + lo + done);
      assertThat(relay.usage()).isEqualTo(new Usage(9, 2));
      assertThat(relay.finished()).isTrue();
    }
  }

  /**
   * Only OpenAI's usage chunk — no choices, a usage object — is withheld: Azure's first chunk (no
   * choices, its content filter results) and a last content chunk that carries usage too go on.
   */
  @Test
  void onlyTheChunkWithNoChoicesAndAUsageObjectIsWithheld() {
    String azureFirst =
        "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"prompt_filter_results\":[]}\n\n";
    String contentWithUsage =
        "data: {\"choices\":[{\"index\":0,\"delta\":{}}],"
            + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n";
    String nullUsage = "data: {\"choices\":[],\"usage\":null}\n\n";
    String stream = azureFirst + HEL + contentWithUsage + nullUsage + DONE;
    SseRelay relay = SseRelay.withholdingUsage();

    assertThat(withhold(relay, stream, 7)).isEqualTo(stream);
    assertThat(relay.usage()).isEqualTo(new Usage(3, 1));
  }

  @Test
  void anUnfinishedLastBlockIsTheClientsAtTheEnd() {
    SseRelay relay = SseRelay.withholdingUsage();
    String cut = "data: {\"choices\":[],\"usa";

    assertThat(withhold(relay, HEL + cut, 4)).isEqualTo(HEL + cut);
    assertThat(relay.finished()).isFalse();
  }

  @Test
  void aBlockTooLargeToHoldIsReleasedAsItComes() {
    SseRelay relay = SseRelay.withholdingUsage();
    byte[] big =
        ("data: {\"choices\":[{\"delta\":{\"content\":\""
                + "x".repeat(SseParser.MAX_LINE / 2)
                + "\"}}]}\ndata: "
                + "y".repeat(SseParser.MAX_LINE / 2 + 10))
            .getBytes(StandardCharsets.UTF_8);

    relay.accept(big, 0, big.length);

    assertThat(relay.release()).as("released before its end").hasSize(big.length);
    assertThat(withhold(relay, "\n\n" + DONE, 3)).isEqualTo("\n\n" + DONE);
  }

  @Test
  void anErrorEventIsNeverWithheld() {
    String error =
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1},"
            + "\"error\":{\"message\":\"boom\"}}\n\n";
    SseRelay relay = SseRelay.withholdingUsage();
    assertThat(withhold(relay, HEL + error, 5)).isEqualTo(HEL + error);
    assertThat(relay.sawErrorEvent()).isTrue();
  }

  // ---- cached tokens

  @Test
  void cachedTokensAreReadFromChatAndResponsesUsage() throws Exception {
    assertThat(
            Usage.of(
                RequestReader.JSON.readTree(
                    "{\"prompt_tokens\":2006,\"completion_tokens\":300,"
                        + "\"prompt_tokens_details\":{\"cached_tokens\":1920}}")))
        .isEqualTo(new Usage(2006, 300, 1920));
    assertThat(
            Usage.of(
                RequestReader.JSON.readTree(
                    "{\"input_tokens\":328,\"output_tokens\":52,"
                        + "\"input_tokens_details\":{\"cached_tokens\":256}}")))
        .isEqualTo(new Usage(328, 52, 256));
    assertThat(Usage.of(RequestReader.JSON.readTree("{\"prompt_tokens\":8,\"total_tokens\":8}")))
        .as("embeddings: no completion, no cache")
        .isEqualTo(new Usage(8, 0, 0));
    assertThat(
            Usage.of(
                RequestReader.JSON.readTree(
                    "{\"prompt_tokens\":5,\"prompt_tokens_details\":{\"cached_tokens\":9}}")))
        .as("never more cached than prompt")
        .isEqualTo(new Usage(5, 0, 5));

    SseRelay relay = SseRelay.watching();
    feedInPieces(
        relay,
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":"
            + "{\"usage\":{\"input_tokens\":328,\"input_tokens_details\":{\"cached_tokens\":256},"
            + "\"output_tokens\":52}}}\n\n",
        9);
    assertThat(relay.usage()).isEqualTo(new Usage(328, 52, 256));
  }
}
