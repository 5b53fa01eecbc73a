package dev.penstock.server.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** SSE parsing as the HTML standard defines it, however the bytes are cut. */
class SseParserTest {
  /** Parses {@code stream} fed in one piece; the events as {@code "type|data"}. */
  private static List<String> parse(String stream) {
    return parse(stream.getBytes(StandardCharsets.UTF_8), new int[] {Integer.MAX_VALUE});
  }

  /** Parses {@code bytes} fed in pieces of the given sizes (repeating the last). */
  private static List<String> parse(byte[] bytes, int[] pieces) {
    List<String> events = new ArrayList<>();
    SseParser parser = new SseParser((type, data) -> events.add(type + "|" + data));
    int i = 0;
    for (int p = 0; i < bytes.length; p = Math.min(p + 1, pieces.length - 1)) {
      int n = Math.min(pieces[p], bytes.length - i);
      parser.accept(bytes, i, n);
      i += n;
    }
    return events;
  }

  @Test
  void linesEndWithCrlfLfOrALoneCr() {
    List<String> expected = List.of("|a", "|b\nc");
    assertThat(parse("data: a\n\ndata: b\ndata: c\n\n")).isEqualTo(expected);
    assertThat(parse("data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\n")).isEqualTo(expected);
    assertThat(parse("data: a\r\rdata: b\rdata: c\r\r")).isEqualTo(expected);
    assertThat(parse("data: a\r\n\ndata: b\rdata: c\n\r\n")).as("mixed").isEqualTo(expected);
  }

  @Test
  void aCrlfCutBetweenItsTwoBytesIsOneLineEnd() {
    byte[] bytes = "data: a\r\n\r\ndata: b\r\n\r\n".getBytes(StandardCharsets.UTF_8);
    assertThat(parse(bytes, new int[] {8, 1, 1, 1})).containsExactly("|a", "|b");
  }

  @Test
  void dataLinesAreJoinedByNewlines() {
    assertThat(parse("data: {\"a\":\ndata: 1}\ndata\ndata:x\n\n"))
        .containsExactly("|{\"a\":\n1}\n\nx");
  }

  @Test
  void onlyOneSpaceAfterTheColonIsDropped() {
    assertThat(parse("data:  two\n\n")).containsExactly("| two");
  }

  @Test
  void commentsAreIgnored() {
    assertThat(parse(": keep-alive\n\n:\ndata: x\n: inside\n\n")).containsExactly("|x");
  }

  @Test
  void theEventFieldNamesTheEventAndIsResetAfterIt() {
    assertThat(parse("event: response.created\ndata: 1\n\ndata: 2\n\nevent: e\nid: 7\ndata: 3\n\n"))
        .containsExactly("response.created|1", "|2", "e|3");
  }

  @Test
  void anEventWithoutDataIsNotDispatchedAndItsTypeIsForgotten() {
    assertThat(parse("event: ping\n\nretry: 10\n\ndata: x\n\n")).containsExactly("|x");
  }

  @Test
  void anEventNotEndedByABlankLineIsNotDispatched() {
    assertThat(parse("data: a\n\ndata: b\n")).containsExactly("|a");
  }

  @Test
  void bytesFedOneAtATimeOrInRandomPiecesGiveTheSameEvents() {
    String stream =
        "event: response.output_text.delta\r\ndata: {\"delta\":\"h\u00e9llo \u4e16\u754c \ud83d\ude00\"}\r\n\r\n"
            + ": comment\rdata: line one\rdata: line two\r\r"
            + "data: {\"usage\":{\"prompt_tokens\":1}}\n\n"
            + "data: [DONE]\n\n";
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    List<String> whole = parse(stream);
    assertThat(whole)
        .containsExactly(
            "response.output_text.delta|{\"delta\":\"h\u00e9llo \u4e16\u754c \ud83d\ude00\"}",
            "|line one\nline two",
            "|{\"usage\":{\"prompt_tokens\":1}}",
            "|[DONE]");

    assertThat(parse(bytes, new int[] {1})).isEqualTo(whole);
    SplittableRandom random = new SplittableRandom(20240601);
    for (int run = 0; run < 200; run++) {
      int[] pieces = new int[bytes.length];
      for (int i = 0; i < pieces.length; i++) {
        pieces[i] = 1 + random.nextInt(12);
      }
      assertThat(parse(bytes, pieces)).as("run %d", run).isEqualTo(whole);
    }
  }

  @Test
  void oneByteOrderMarkAtTheStreamsStartIsIgnored() {
    byte[] bytes = "\uFEFFdata: a\n\n\uFEFFdata: b\n\n".getBytes(StandardCharsets.UTF_8);
    assertThat(parse(bytes, new int[] {Integer.MAX_VALUE})).containsExactly("|a");
    assertThat(parse(bytes, new int[] {1})).containsExactly("|a");
    assertThat(parse("\uFEFF\ndata: a\n\n")).containsExactly("|a");
  }

  @Test
  void anOverLongLineDropsItsEventOnly() {
    String longLine = "data: " + "x".repeat(SseParser.MAX_LINE + 10) + "\n";
    String stream =
        "data: before\n\nevent: big\ndata: first\n" + longLine + "data: last\n\ndata: after\n\n";
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);

    assertThat(parse(bytes, new int[] {Integer.MAX_VALUE})).containsExactly("|before", "|after");
    assertThat(parse(bytes, new int[] {4096})).containsExactly("|before", "|after");
  }

  @Test
  void aLineOfExactlyTheLimitIsKept() {
    String data = "y".repeat(SseParser.MAX_LINE - "data: ".length());
    assertThat(parse("data: " + data + "\n\n")).containsExactly("|" + data);
  }
}
