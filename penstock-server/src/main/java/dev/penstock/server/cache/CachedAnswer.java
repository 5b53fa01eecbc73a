package dev.penstock.server.cache;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.Usage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One cached answer: the whole (non-streamed) JSON body of a {@code 200}, as the upstream sent it
 * or as it was assembled from a stream, with what the ledger needs to say what a hit saved.
 *
 * <p>Its wire form (the Redis tier's value) is {@code PSC1}, a 4-byte length, a small JSON header
 * and the body; {@link #decode} refuses anything else, so that a junk entry is a miss, never a
 * corrupt answer.
 *
 * @param body the answer's JSON, byte for byte what a non-streamed request gets
 * @param deployment the deployment that answered (for the saved cost's price)
 * @param upstreamModel the model that deployment ran
 * @param storedAtMillis when it was stored (epoch ms)
 */
@SuppressWarnings("ArrayRecordComponent") // a carrier, compared by identity only in tests
public record CachedAnswer(
    Endpoint endpoint, byte[] body, String deployment, String upstreamModel, long storedAtMillis) {
  private static final byte[] MAGIC = {'P', 'S', 'C', '1'};

  /** What the answer's body says it used: what a hit saves. */
  public Usage usage() {
    try {
      return Usage.of(RequestReader.JSON.readTree(body).path("usage"));
    } catch (IOException e) {
      return Usage.UNKNOWN;
    }
  }

  /** Memory held, roughly: the body and the strings, plus object headers. */
  public int weight() {
    return body.length + 2 * (deployment.length() + upstreamModel.length()) + 96;
  }

  /** The wire form. */
  public byte[] encode() {
    byte[] header =
        RequestReader.JSON
            .createObjectNode()
            .put("endpoint", endpoint.name())
            .put("deployment", deployment)
            .put("upstream_model", upstreamModel)
            .put("stored_at", storedAtMillis)
            .toString()
            .getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(MAGIC.length + 4 + header.length + body.length)
        .put(MAGIC)
        .putInt(header.length)
        .put(header)
        .put(body)
        .array();
  }

  /**
   * Reads the wire form; throws {@link IllegalArgumentException} saying why for anything that is
   * not a whole, well-formed entry (including a body that is not a JSON object).
   */
  public static CachedAnswer decode(byte[] bytes) {
    if (bytes.length < MAGIC.length + 4
        || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw new IllegalArgumentException("not a Penstock cache entry");
    }
    ByteBuffer in = ByteBuffer.wrap(bytes, MAGIC.length, bytes.length - MAGIC.length);
    int headerLength = in.getInt();
    if (headerLength < 2 || headerLength > in.remaining()) {
      throw new IllegalArgumentException("a cache entry with a bad header length");
    }
    try {
      JsonNode header = RequestReader.JSON.readTree(bytes, in.position(), headerLength);
      byte[] body = Arrays.copyOfRange(bytes, in.position() + headerLength, bytes.length);
      JsonNode parsed = RequestReader.JSON.readTree(body);
      if (parsed == null || !parsed.isObject()) {
        throw new IllegalArgumentException("a cache entry whose answer is not a JSON object");
      }
      return new CachedAnswer(
          Endpoint.valueOf(header.path("endpoint").asText("")),
          body,
          header.path("deployment").asText(""),
          header.path("upstream_model").asText(""),
          header.path("stored_at").asLong(0));
    } catch (IOException e) {
      throw new IllegalArgumentException("a cache entry that is not JSON", e);
    }
  }
}
