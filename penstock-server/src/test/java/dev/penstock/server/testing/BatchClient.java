package dev.penstock.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The Batch API as a client sees it, through one gateway: upload a JSONL file, create a batch, poll
 * it, read its output — for tests that run batches across processes (open mode: no key).
 */
public final class BatchClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http;
  private final String root;

  /** {@code root}: {@code http://host:port}, without {@code /v1}. */
  public BatchClient(HttpClient http, String root) {
    this.http = http;
    this.root = root;
  }

  /**
   * {@code lines} chat requests for {@code model}, custom ids {@code line-0} to {@code line-(n-1)}.
   */
  public static String input(int lines, String model) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < lines; i++) {
      text.append("{\"custom_id\":\"line-")
          .append(i)
          .append("\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":")
          .append("{\"model\":\"")
          .append(model)
          .append("\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",")
          .append("\"content\":\"Say something about the number ")
          .append(i)
          .append(".\"}]}}\n");
    }
    return text.toString();
  }

  /**
   * A {@code POST /v1/files} body, multipart as curl's {@code -F purpose=batch -F
   * file=@input.jsonl}.
   */
  public static String uploadBody(String boundary, String jsonl) {
    return "--"
        + boundary
        + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--"
        + boundary
        + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"input.jsonl\""
        + "\r\nContent-Type: application/jsonl\r\n\r\n"
        + jsonl
        + "\r\n--"
        + boundary
        + "--\r\n";
  }

  /** Uploads {@code jsonl} ({@code purpose=batch}) and creates a 24 h batch of it; its id. */
  public String submit(String jsonl) throws IOException, InterruptedException {
    String boundary = "penstock-cluster-" + Long.toHexString(System.nanoTime());
    String body = uploadBody(boundary, jsonl);
    String fileId =
        ok(http.send(
                request("/v1/files")
                    .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                    .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                    .build(),
                HttpResponse.BodyHandlers.ofString()))
            .get("id")
            .asText();
    return ok(http.send(
            request("/v1/batches")
                .header("Content-Type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"input_file_id\":\""
                            + fileId
                            + "\",\"endpoint\":\"/v1/chat/completions\","
                            + "\"completion_window\":\"24h\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofString()))
        .get("id")
        .asText();
  }

  public JsonNode batch(String id) throws IOException, InterruptedException {
    return ok(
        http.send(
            request("/v1/batches/" + id).GET().build(), HttpResponse.BodyHandlers.ofString()));
  }

  /**
   * Polls the batch (bounded by {@code wait}) until {@code until} holds; returns the batch that
   * satisfied it, or throws {@link AssertionError} with the last one seen.
   */
  public JsonNode await(String id, Predicate<JsonNode> until, Duration wait, String what)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + wait.toNanos();
    JsonNode batch = batch(id);
    while (!until.test(batch)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no " + what + " within " + wait + ": " + batch);
      }
      LockSupport.parkNanos(100_000_000);
      batch = batch(id);
    }
    return batch;
  }

  /** Whether a batch has ended (any terminal status). */
  public static boolean ended(JsonNode batch) {
    return !batch.get("status").asText().matches("validating|in_progress|finalizing");
  }

  /** The lines of a file's content; none for a missing (null) file id. */
  public List<JsonNode> content(@Nullable JsonNode fileId)
      throws IOException, InterruptedException {
    if (fileId == null || fileId.isNull()) {
      return List.of();
    }
    HttpResponse<String> response =
        http.send(
            request("/v1/files/" + fileId.asText() + "/content").GET().build(),
            HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    if (response.statusCode() != 200) {
      throw new AssertionError("the content of " + fileId + ": " + response.statusCode());
    }
    List<JsonNode> parsed = new ArrayList<>();
    for (String line : response.body().lines().toList()) {
      if (!line.isBlank()) {
        parsed.add(JSON.readTree(line));
      }
    }
    return parsed;
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(root + path)).timeout(Duration.ofSeconds(30));
  }

  private static JsonNode ok(HttpResponse<String> response) throws IOException {
    if (response.statusCode() != 200) {
      throw new AssertionError(
          response.request().method()
              + " "
              + response.request().uri()
              + ": "
              + response.statusCode()
              + " "
              + response.body());
    }
    return JSON.readTree(response.body());
  }
}
