package dev.penstock.server.openai;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Watches the bytes of an SSE stream as they are relayed — without holding them back — to learn the
 * stream's usage and whether it ended properly ({@code data: [DONE]}, or for the Responses API a
 * terminal {@code response.*} event). Lines are split across reads however the network cuts them.
 * Not thread-safe: one per stream.
 */
public final class SseRelay {
  private static final byte[] USAGE_MARK = "\"usage\":{".getBytes(StandardCharsets.US_ASCII);
  private static final int MAX_LINE = 1 << 20;

  private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);
  private boolean lineTooLong;
  private Usage usage = Usage.UNKNOWN;
  private boolean finished;
  private boolean errorEvent;

  /** Feeds bytes that were just relayed to the client. */
  public void accept(byte[] bytes, int offset, int length) {
    for (int i = offset; i < offset + length; i++) {
      byte b = bytes[i];
      if (b == '\n') {
        if (!lineTooLong) {
          onLine(line.toByteArray());
        }
        line.reset();
        lineTooLong = false;
      } else if (line.size() < MAX_LINE) {
        line.write(b);
      } else {
        lineTooLong = true;
      }
    }
  }

  private void onLine(byte[] bytes) {
    int start = 0;
    int end = bytes.length;
    if (end > 0 && bytes[end - 1] == '\r') {
      end--;
    }
    if (!startsWith(bytes, "data:")) {
      return;
    }
    start = 5;
    while (start < end && bytes[start] == ' ') {
      start++;
    }
    String data = new String(bytes, start, end - start, StandardCharsets.UTF_8);
    if (data.equals("[DONE]")) {
      finished = true;
      return;
    }
    boolean hasUsage = indexOf(bytes, USAGE_MARK) >= 0;
    boolean terminal =
        data.startsWith("{\"type\":\"response.completed\"")
            || data.startsWith("{\"type\":\"response.incomplete\"")
            || data.startsWith("{\"type\":\"response.failed\"");
    if (data.startsWith("{\"error\"")) {
      errorEvent = true;
    }
    if (!hasUsage && !terminal) {
      return;
    }
    try {
      JsonNode event = RequestReader.JSON.readTree(data);
      JsonNode found =
          event.has("response") ? event.get("response").path("usage") : event.path("usage");
      Usage parsed = Usage.of(found);
      if (parsed.known()) {
        usage = parsed;
      }
      if (event.path("type").asText("").matches("response\\.(completed|incomplete|failed)")) {
        finished = true;
      }
    } catch (IOException e) {
      // A malformed event is the client's to see; it carries no usage for us.
    }
  }

  public Usage usage() {
    return usage;
  }

  /** Whether the stream reached its proper end. */
  public boolean finished() {
    return finished;
  }

  /** Whether the upstream itself sent an error event in the stream. */
  public boolean sawErrorEvent() {
    return errorEvent;
  }

  private static boolean startsWith(byte[] bytes, String prefix) {
    if (bytes.length < prefix.length()) {
      return false;
    }
    for (int i = 0; i < prefix.length(); i++) {
      if (bytes[i] != prefix.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
