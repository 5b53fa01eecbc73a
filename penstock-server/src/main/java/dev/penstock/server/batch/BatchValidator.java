package dev.penstock.server.batch;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.RequestReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Checks a batch's input file as OpenAI does, streaming it (one line in memory at a time): each
 * non-blank line a JSON object {@code {"custom_id": string, "method": "POST", "url": <the batch's
 * endpoint>, "body": object}}, every body naming the same {@code model}, no {@code custom_id}
 * twice, no {@code "stream": true}, at most {@code max_lines} lines. Blank lines are skipped.
 *
 * <p>The error codes ({@code errors.data[].code}), each with the 1-based {@code line}: {@code
 * invalid_json_line}, {@code missing_required_parameter} and {@code invalid_value} (with {@code
 * param}: {@code custom_id}, {@code method}, {@code url}, {@code body}, {@code body.model}), {@code
 * mismatched_endpoint}, {@code mismatched_model}, {@code duplicate_custom_id}, {@code
 * unsupported_value} ({@code body.stream}), {@code line_too_large}, {@code too_many_lines}, and
 * {@code empty_file} (line null). At most {@link #MAX_ERRORS} are reported.
 *
 * <p>Thread-safe: it holds only its limits.
 */
public final class BatchValidator {
  /** The most errors reported for one file (the rest of the file is not read). */
  public static final int MAX_ERRORS = 100;

  private final int maxLines;
  private final int maxLineBytes;

  /**
   * @param maxLines {@code batches.max_lines}
   * @param maxLineBytes the largest line (a request body of up to {@code max_body_bytes})
   */
  public BatchValidator(int maxLines, int maxLineBytes) {
    this.maxLines = maxLines;
    this.maxLineBytes = maxLineBytes;
  }

  /**
   * What validation found.
   *
   * @param errors empty when the file is valid
   * @param model the one model of its lines ("" when invalid)
   * @param lines how many non-blank lines it has (those read, when invalid)
   */
  public record Result(List<BatchRecord.BatchError> errors, String model, int lines) {
    public boolean valid() {
      return errors.isEmpty();
    }
  }

  /** A line is not what a batch line must be. */
  static final class LineException extends Exception {
    private static final long serialVersionUID = 1L;
    final String code;
    final @Nullable String param;
    final String text;

    LineException(String code, @Nullable String param, String message) {
      super(message, null, false, false);
      this.code = code;
      this.param = param;
      this.text = message;
    }
  }

  /** A line taken apart: its raw body is the text the line gave, byte for byte. */
  record Parsed(String customId, String model, boolean stream, String rawBody) {}

  /**
   * Validates the file read from {@code in} for a batch on {@code endpoint}.
   *
   * @param stopped asked between lines: true gives up (the gateway stops), with an empty result
   * @throws IOException when the file cannot be read
   */
  public Result validate(InputStream in, String endpoint, BooleanSupplier stopped)
      throws IOException {
    JsonlReader reader = new JsonlReader(in, maxLineBytes);
    List<BatchRecord.BatchError> errors = new ArrayList<>();
    Set<String> customIds = new HashSet<>();
    String model = null;
    int count = 0;
    JsonlReader.Line line;
    while ((line = reader.next()) != null && errors.size() < MAX_ERRORS) {
      if (stopped.getAsBoolean()) {
        return new Result(List.of(), "", count);
      }
      if (line.blank()) {
        continue;
      }
      count++;
      if (count > maxLines) {
        errors.add(
            new BatchRecord.BatchError(
                "too_many_lines",
                "The input file has more than the "
                    + maxLines
                    + " lines a batch may hold (batches.max_lines).",
                null,
                line.number()));
        break;
      }
      try {
        Parsed p = parse(line, endpoint);
        if (p.stream()) {
          throw new LineException(
              "unsupported_value",
              "body.stream",
              "Streaming is not supported in a batch: remove 'stream' or set it to false.");
        }
        if (model == null) {
          model = p.model();
        } else if (!model.equals(p.model())) {
          throw new LineException(
              "mismatched_model",
              "body.model",
              "The model '"
                  + shorten(p.model())
                  + "' differs from the model '"
                  + shorten(model)
                  + "' of the lines before: all the requests of a batch must name the same"
                  + " model.");
        }
        if (!customIds.add(p.customId())) {
          throw new LineException(
              "duplicate_custom_id",
              "custom_id",
              "The custom_id '"
                  + shorten(p.customId())
                  + "' is a duplicate of another request's. The custom_id parameter must be"
                  + " unique for each request in a batch.");
        }
      } catch (LineException e) {
        errors.add(new BatchRecord.BatchError(e.code, e.text, e.param, line.number()));
      }
    }
    if (errors.isEmpty() && count == 0) {
      errors.add(
          new BatchRecord.BatchError(
              "empty_file", "The input file is empty: it holds no request.", null, 0));
    }
    return errors.isEmpty()
        ? new Result(List.of(), model == null ? "" : model, count)
        : new Result(List.copyOf(errors), "", count);
  }

  /**
   * The lines of a file {@link #validate} accepted, read again from {@code open} as they are
   * iterated: index 0, 1, ... for the non-blank lines, the body exactly as the line gave it.
   * Iteration throws {@link UncheckedIOException} when the file cannot be read, and {@link
   * IllegalStateException} when a line no longer parses (the file changed).
   */
  public Iterable<BatchLine> lines(FileOpener open, String endpoint) {
    return () -> {
      InputStream in;
      try {
        in = open.open();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      JsonlReader reader = new JsonlReader(in, maxLineBytes);
      return new Iterator<BatchLine>() {
        private @Nullable BatchLine next;
        private int index;
        private boolean done;

        @Override
        public boolean hasNext() {
          if (next != null) {
            return true;
          }
          if (done) {
            return false;
          }
          try {
            JsonlReader.Line line;
            while ((line = reader.next()) != null) {
              if (line.blank()) {
                continue;
              }
              Parsed p;
              try {
                p = parse(line, endpoint);
              } catch (LineException e) {
                throw new IllegalStateException(
                    "line " + line.number() + " of the input file changed: " + e.text, e);
              }
              next = new BatchLine(index++, p.customId(), p.rawBody(), 0);
              return true;
            }
            done = true;
            in.close();
            return false;
          } catch (IOException e) {
            closeQuietly(in);
            throw new UncheckedIOException(e);
          } catch (RuntimeException e) {
            closeQuietly(in);
            throw e;
          }
        }

        @Override
        public BatchLine next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          BatchLine line = next;
          next = null;
          if (line == null) {
            throw new NoSuchElementException();
          }
          return line;
        }
      };
    };
  }

  /** Opens a file's content. */
  @FunctionalInterface
  public interface FileOpener {
    InputStream open() throws IOException;
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException e) {
      // reading failed already; that is the error reported
    }
  }

  /** Takes one line apart, checking everything but what depends on the other lines. */
  Parsed parse(JsonlReader.Line line, String endpoint) throws LineException {
    byte[] bytes = line.bytes();
    if (bytes == null) {
      throw new LineException(
          "line_too_large",
          null,
          "The line is larger than the " + maxLineBytes + " bytes a request body may have.");
    }
    Map<String, JsonNode> fields = new HashMap<>();
    String rawBody = null;
    try (JsonParser p = RequestReader.JSON.createParser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw notJson();
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        p.nextToken();
        long start = p.currentTokenLocation().getByteOffset();
        JsonNode value = p.readValueAsTree();
        if (value == null) {
          throw notJson();
        }
        if ("body".equals(name) && value.isObject()) {
          long end = p.currentLocation().getByteOffset();
          rawBody =
              start >= 0 && end > start && end <= bytes.length
                  ? new String(bytes, (int) start, (int) (end - start), StandardCharsets.UTF_8)
                  : RequestReader.JSON.writeValueAsString(value);
        }
        fields.put(name, value);
      }
      if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
        throw notJson();
      }
    } catch (JacksonException e) {
      throw notJson();
    } catch (IOException e) {
      throw notJson();
    }
    String customId = requiredString(fields, "custom_id");
    String method = requiredString(fields, "method");
    if (!"POST".equals(method)) {
      throw new LineException(
          "invalid_value",
          "method",
          "Invalid value for 'method': '" + shorten(method) + "'. Only POST is supported.");
    }
    String url = requiredString(fields, "url");
    if (!endpoint.equals(url)) {
      throw new LineException(
          "mismatched_endpoint",
          "url",
          "The url '"
              + shorten(url)
              + "' does not match the batch's endpoint '"
              + endpoint
              + "': every line must use it.");
    }
    JsonNode body = fields.get("body");
    if (body == null || body.isNull()) {
      throw missing("body");
    }
    if (!body.isObject() || rawBody == null) {
      throw new LineException("invalid_value", "body", "'body' must be a JSON object.");
    }
    JsonNode model = body.get("model");
    if (model == null || model.isNull()) {
      throw missing("body.model");
    }
    if (!model.isTextual() || model.asText().isEmpty()) {
      throw new LineException(
          "invalid_value", "body.model", "'body.model' must be a model's name (a string).");
    }
    JsonNode stream = body.get("stream");
    return new Parsed(customId, model.asText(), stream != null && stream.asBoolean(false), rawBody);
  }

  private static String requiredString(Map<String, JsonNode> fields, String name)
      throws LineException {
    JsonNode value = fields.get(name);
    if (value == null || value.isNull()) {
      throw missing(name);
    }
    if (!value.isTextual() || value.asText().isEmpty()) {
      throw new LineException(
          "invalid_value", name, "'" + name + "' must be a string that is not empty.");
    }
    return value.asText();
  }

  private static LineException missing(String param) {
    return new LineException(
        "missing_required_parameter", param, "Missing required parameter: '" + param + "'.");
  }

  private static LineException notJson() {
    return new LineException(
        "invalid_json_line",
        null,
        "This line is not parseable as valid JSON (one JSON object per line).");
  }

  private static String shorten(String s) {
    return s.length() > 128 ? s.substring(0, 128) + "..." : s;
  }
}
