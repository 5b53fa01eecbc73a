package dev.penstock.server.pipeline;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.penstock.server.openai.RequestReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.jspecify.annotations.Nullable;

/*
 * Design
 *
 * A merged embeddings answer is split back into one answer per member without re-serialising what
 * the upstream wrote (SPEC 2): one streaming pass over the bytes finds each top-level field's span,
 * each vector object's span in "data" and the span of its "index" value, skipping the vectors'
 * numbers without parsing them. A member's answer is then spliced together from those spans: the
 * top-level fields in the upstream's order, "data" holding the member's vector objects with their
 * "index" rewritten to count from 0, and "usage" holding the member's share.
 *
 * The shares: the upstream counts the whole call's tokens; each member's share is that total
 * weighed by the member's own estimate, by largest remainder, so the shares are whole numbers that
 * sum exactly to the total (the ledger's sum is the upstream's bill).
 */

/**
 * A merged embeddings answer, ready to be split into the members' answers. Immutable once parsed;
 * {@link #part} may be called from any thread.
 */
final class EmbeddingSplit {
  /** A top-level field: the bytes from its name to the end of its value. */
  private record Field(String name, int start, int end) {}

  /** A vector object of {@code data}, and where its {@code index} value sits inside it. */
  private record Item(long index, int start, int end, int indexStart, int indexEnd) {}

  private static final byte[] COMMA = ascii(",");

  private final byte[] answer;
  private final List<Field> fields;
  private final List<Item> items;
  private final long promptTokens;
  private final long totalTokens;

  private EmbeddingSplit(
      byte[] answer, List<Field> fields, List<Item> items, long promptTokens, long totalTokens) {
    this.answer = answer;
    this.fields = fields;
    this.items = items;
    this.promptTokens = promptTokens;
    this.totalTokens = totalTokens;
  }

  /**
   * Parses a merged answer that must hold exactly {@code expected} vectors, indexed 0 to {@code
   * expected - 1} (in any order); null for anything else — not JSON, not an object, a vector
   * missing, duplicated or without its index.
   */
  static @Nullable EmbeddingSplit parse(byte[] answer, int expected) {
    List<Field> fields = new ArrayList<>();
    List<Item> items = new ArrayList<>();
    long[] usage = {-1, -1};
    try (JsonParser parser = RequestReader.JSON.getFactory().createParser(answer)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        int start = (int) parser.currentTokenLocation().getByteOffset();
        JsonToken value = parser.nextToken();
        if ("data".equals(name) && value == JsonToken.START_ARRAY) {
          if (!items(parser, items)) {
            return null;
          }
        } else if ("usage".equals(name) && value == JsonToken.START_OBJECT) {
          usage(parser, usage);
        } else {
          parser.skipChildren();
          parser.finishToken();
        }
        fields.add(new Field(name, start, (int) parser.currentLocation().getByteOffset()));
      }
    } catch (IOException | RuntimeException e) {
      return null;
    }
    items.sort(Comparator.comparingLong(Item::index));
    if (items.size() != expected) {
      return null;
    }
    for (int i = 0; i < items.size(); i++) {
      if (items.get(i).index() != i) {
        return null;
      }
    }
    return new EmbeddingSplit(answer, List.copyOf(fields), List.copyOf(items), usage[0], usage[1]);
  }

  /** Reads {@code data}'s vector objects; false when one is not an object with an index. */
  private static boolean items(JsonParser parser, List<Item> items) throws IOException {
    while (parser.nextToken() == JsonToken.START_OBJECT) {
      int start = (int) parser.currentTokenLocation().getByteOffset();
      long index = -1;
      int indexStart = -1;
      int indexEnd = -1;
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if ("index".equals(name) && value == JsonToken.VALUE_NUMBER_INT) {
          index = parser.getLongValue();
          indexStart = (int) parser.currentTokenLocation().getByteOffset();
          indexEnd = (int) parser.currentLocation().getByteOffset();
        } else {
          parser.skipChildren();
        }
      }
      if (index < 0) {
        return false;
      }
      items.add(
          new Item(
              index, start, (int) parser.currentLocation().getByteOffset(), indexStart, indexEnd));
    }
    return parser.currentToken() == JsonToken.END_ARRAY;
  }

  /** Reads {@code usage.prompt_tokens} and {@code usage.total_tokens} into {@code usage}. */
  private static void usage(JsonParser parser, long[] usage) throws IOException {
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonToken value = parser.nextToken();
      if (value == JsonToken.VALUE_NUMBER_INT && "prompt_tokens".equals(name)) {
        usage[0] = parser.getLongValue();
      } else if (value == JsonToken.VALUE_NUMBER_INT && "total_tokens".equals(name)) {
        usage[1] = parser.getLongValue();
      } else {
        parser.skipChildren();
      }
    }
  }

  /** The upstream's {@code usage.prompt_tokens} for the whole call; -1 when it said none. */
  long promptTokens() {
    return promptTokens;
  }

  /** The upstream's {@code usage.total_tokens}; -1 when it said none. */
  long totalTokens() {
    return totalTokens;
  }

  /**
   * One member's answer: the vectors {@code from} to {@code from + count - 1}, indexed from 0, and
   * its share of the usage ({@code usage} left as the upstream wrote it when it had no counts).
   */
  byte[] part(int from, int count, long promptShare, long totalShare) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(estimateSize(count));
    out.write('{');
    for (int f = 0; f < fields.size(); f++) {
      Field field = fields.get(f);
      if (f > 0) {
        out.writeBytes(COMMA);
      }
      if (field.name().equals("data")) {
        out.writeBytes(ascii("\"data\":["));
        for (int i = 0; i < count; i++) {
          Item item = items.get(from + i);
          if (i > 0) {
            out.writeBytes(COMMA);
          }
          out.write(answer, item.start(), item.indexStart() - item.start());
          out.writeBytes(ascii(Integer.toString(i)));
          out.write(answer, item.indexEnd(), item.end() - item.indexEnd());
        }
        out.write(']');
      } else if (field.name().equals("usage") && promptTokens >= 0) {
        out.writeBytes(
            ascii(
                "\"usage\":{\"prompt_tokens\":"
                    + promptShare
                    + ",\"total_tokens\":"
                    + (totalTokens >= 0 ? totalShare : promptShare)
                    + "}"));
      } else {
        out.write(answer, field.start(), field.end() - field.start());
      }
    }
    out.write('}');
    return out.toByteArray();
  }

  private int estimateSize(int count) {
    return items.isEmpty()
        ? 256
        : (int) Math.min(Integer.MAX_VALUE - 8, (long) answer.length * count / items.size() + 256);
  }

  /**
   * {@code total} split in proportion to {@code weights} by largest remainder: whole shares that
   * sum to {@code total} exactly (ties to the earlier member). Equal weights when all are 0.
   */
  static long[] shares(long total, long[] weights) {
    long sum = 0;
    for (long w : weights) {
      sum += Math.max(0, w);
    }
    long[] shares = new long[weights.length];
    if (weights.length == 0 || total <= 0) {
      return shares;
    }
    long[] remainders = new long[weights.length];
    long given = 0;
    for (int i = 0; i < weights.length; i++) {
      long w = sum == 0 ? 1 : Math.max(0, weights[i]);
      long whole = sum == 0 ? weights.length : sum;
      // total * w fits: tokens and estimates are far below 2^31 each.
      shares[i] = Math.multiplyExact(total, w) / whole;
      remainders[i] = Math.multiplyExact(total, w) % whole;
      given += shares[i];
    }
    for (long left = total - given; left > 0; left--) {
      int best = 0;
      for (int i = 1; i < remainders.length; i++) {
        if (remainders[i] > remainders[best]) {
          best = i;
        }
      }
      shares[best]++;
      remainders[best] = -1;
    }
    return shares;
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }
}
