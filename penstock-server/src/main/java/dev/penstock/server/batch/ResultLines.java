package dev.penstock.server.batch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.server.openai.RequestReader;
import java.io.UncheckedIOException;
import org.jspecify.annotations.Nullable;

/**
 * The lines of a batch's output and error files, as OpenAI writes them: {@code {"id", "custom_id",
 * "response": {"status_code", "request_id", "body"}, "error"}}. The {@code id} is derived from the
 * batch and the line's index, so a line written again has the same one.
 */
public final class ResultLines {
  /** The error code of a line failed because its batch was cancelled. */
  public static final String CANCELLED = "batch_cancelled";

  /** The error code of a line failed because its batch's completion window ended. */
  public static final String EXPIRED = "batch_expired";

  /** The error code of a line whose upstreams failed it on every attempt. */
  public static final String ATTEMPTS_EXHAUSTED = "attempts_exhausted";

  private ResultLines() {}

  /**
   * A line with an answer: {@code error} null for an output line, set for an error line (a {@code
   * 4xx}, attempts exhausted).
   */
  public static String answered(
      String batchId,
      BatchLine line,
      int statusCode,
      @Nullable String requestId,
      JsonNode body,
      @Nullable String errorCode,
      @Nullable String errorMessage) {
    ObjectNode root = head(batchId, line);
    ObjectNode response = root.putObject("response");
    response.put("status_code", statusCode);
    response.put("request_id", requestId);
    response.set("body", body);
    if (errorCode == null) {
      root.putNull("error");
    } else {
      error(root, errorCode, errorMessage == null ? "" : errorMessage);
    }
    return write(root);
  }

  /** An error line with no answer: {@code response} null (the line was cancelled or expired). */
  public static String unanswered(String batchId, BatchLine line, String code, String message) {
    ObjectNode root = head(batchId, line);
    root.putNull("response");
    error(root, code, message);
    return write(root);
  }

  /** The error line of a line its batch's cancel failed. */
  public static String cancelled(String batchId, BatchLine line) {
    return unanswered(
        batchId, line, CANCELLED, "This request was not executed: the batch was cancelled.");
  }

  /** The error line of a line that did not run before its batch's completion window ended. */
  public static String expired(String batchId, BatchLine line) {
    return unanswered(
        batchId,
        line,
        EXPIRED,
        "This request could not be executed before the completion window expired.");
  }

  /** An error line's {@code error.code}; null when the line has none (or is not JSON). */
  public static @Nullable String errorCode(String resultLine) {
    try {
      JsonNode code = RequestReader.JSON.readTree(resultLine).path("error").path("code");
      return code.isTextual() ? code.asText() : null;
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  private static ObjectNode head(String batchId, BatchLine line) {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put("id", BatchIds.request(batchId, line.index()));
    root.put("custom_id", line.customId());
    return root;
  }

  private static void error(ObjectNode root, String code, String message) {
    ObjectNode error = root.putObject("error");
    error.put("code", code);
    error.put("message", message);
  }

  private static String write(ObjectNode root) {
    try {
      return RequestReader.JSON.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
