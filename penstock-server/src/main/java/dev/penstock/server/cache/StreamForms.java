package dev.penstock.server.cache;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.Usage;
import org.jspecify.annotations.Nullable;

/**
 * A cached answer's two forms: the whole answer the cache keeps, and the stream a streamed request
 * gets. A stream is stored as the whole answer it amounts to ({@link StreamAssembler}) and replayed
 * from it ({@link StreamReplay}), so that a streamed and a non-streamed request share one entry.
 */
public final class StreamForms {
  private StreamForms() {}

  /**
   * The whole answer a complete stream amounts to, or null when the bytes are not one.
   *
   * @param usage the usage the gateway read from the stream, for a client that did not receive it
   */
  public static byte @Nullable [] assemble(Endpoint endpoint, byte[] sse, Usage usage) {
    return StreamAssembler.assemble(endpoint, sse, usage);
  }

  /** The SSE bytes replaying a whole answer, with its usage chunk when the client asked. */
  public static byte[] replay(Endpoint endpoint, JsonNode whole, boolean includeUsage) {
    return StreamReplay.of(endpoint, whole, includeUsage);
  }
}
