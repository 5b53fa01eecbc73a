package dev.penstock.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SettlingStreamTest {
  private final List<String> ends = new ArrayList<>();

  private SettlingStream over(InputStream upstream) {
    return new SettlingStream(
        upstream,
        (end, usage) ->
            ends.add(end + " " + usage.promptTokens() + "/" + usage.completionTokens()));
  }

  private static InputStream sse(String text) {
    return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aStreamReadToItsEndIsSettledOnceWithItsUsage() throws IOException {
    SettlingStream stream =
        over(
            sse(
                """
                data: {"choices":[{"delta":{"content":"hi"}}]}

                data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4}}\r
                \r
                data: [DONE]

                """));
    byte[] buffer = new byte[7]; // events cut anywhere between reads
    while (stream.read(buffer) >= 0) {
      assertThat(ends).isEmpty();
    }
    stream.close();
    assertThat(ends).containsExactly("COMPLETED 9/4");
  }

  @Test
  void theResponsesApisUsageIsInsideItsLastEvent() throws IOException {
    SettlingStream stream =
        over(
            sse(
                "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":2}}}\n\n"));
    stream.readAllBytes();
    assertThat(ends).containsExactly("COMPLETED 5/2");
  }

  @Test
  void aStreamClosedBeforeItsEndIsLeftAndABrokenOneFails() throws IOException {
    over(sse("data: {}\n\n")).close();
    InputStream broken =
        new InputStream() {
          @Override
          public int read() throws IOException {
            throw new IOException("reset");
          }

          @Override
          public int read(byte[] buffer, int offset, int length) throws IOException {
            throw new IOException("reset");
          }
        };
    SettlingStream cut = over(broken);
    assertThatThrownBy(cut::read).isInstanceOf(IOException.class);
    cut.close();
    assertThat(ends).containsExactly("LEFT -1/-1", "BROKE -1/-1");
  }
}
