package dev.penstock.server.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.batches.Batch;
import com.openai.models.batches.BatchCreateParams;
import com.openai.models.batches.BatchListPage;
import com.openai.models.batches.BatchListParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileDeleted;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import dev.penstock.mock.LatencyModel;
import dev.penstock.mock.MockConfig;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.testing.GatewayFixture;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenAI's Files and Batches API end to end with the official Java SDK against a real gateway: in
 * open mode and with two virtual keys (each sees only its own). Nothing executes the lines here
 * (execution is off: {@link BatchExecutionEndToEndTest} runs batches): batches are followed to
 * {@code in_progress} or {@code failed}.
 */
class BatchApiEndToEndTest {
  private static final String ADMIN = "adm-batch-0123456789";
  private static final String EP = "/v1/chat/completions";
  private static final long MAX_FILE = 100_000;

  @TempDir Path dir;
  private GatewayFixture fixture;
  private final List<OpenAIClient> clients = new ArrayList<>();

  private void start() {
    MockConfig simulator =
        MockConfig.builder()
            .port(0)
            .latency(new LatencyModel(1, 0, 0))
            .addKey(dev.penstock.mock.KeySpec.of("mini", "sk-up", 100_000, 100_000_000))
            .build();
    String yaml =
        """
        listen: 127.0.0.1:0
        admin_key: %s
        batches:
          max_file_bytes: %d
        models:
          gpt-4o-mini:
            deployments:
              - {name: mini, base_url: "${MOCK}", api_key: "sk-up", rpm: 100000, tpm: 100000000}
        """
            .formatted(ADMIN, MAX_FILE);
    // The API alone: batches stay in_progress with their lines pending (BatchExecutionEndToEndTest
    // runs them).
    fixture = GatewayFixture.start(simulator, yaml, b -> b.batchExecution(false));
  }

  @AfterEach
  void stop() {
    clients.forEach(OpenAIClient::close);
    if (fixture != null) {
      fixture.close();
    }
  }

  private OpenAIClient sdk(String key) {
    OpenAIClient client =
        OpenAIOkHttpClient.builder()
            .baseUrl(fixture.baseUrl())
            .apiKey(key)
            .maxRetries(0)
            .timeout(Duration.ofSeconds(30))
            .build();
    clients.add(client);
    return client;
  }

  private static String line(String customId, String model) {
    return "{\"custom_id\":\""
        + customId
        + "\",\"method\":\"POST\",\"url\":\""
        + EP
        + "\",\"body\":{\"model\":\""
        + model
        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi "
        + customId
        + "\"}]}}\n";
  }

  private Path jsonl(String name, String content) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, content, StandardCharsets.UTF_8);
    return file;
  }

  private static FileObject upload(OpenAIClient sdk, Path file) {
    return sdk.files()
        .create(FileCreateParams.builder().file(file).purpose(FilePurpose.BATCH).build());
  }

  private static Batch create(OpenAIClient sdk, String fileId) {
    return sdk.batches()
        .create(
            BatchCreateParams.builder()
                .inputFileId(fileId)
                .endpoint(BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS)
                .completionWindow(BatchCreateParams.CompletionWindow._24H)
                .metadata(
                    BatchCreateParams.Metadata.builder()
                        .putAdditionalProperty("job", com.openai.core.JsonValue.from("nightly"))
                        .build())
                .build());
  }

  /** Polls (bounded) until the batch has left {@code validating}. */
  private static Batch validated(OpenAIClient sdk, String id) {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    Batch b = sdk.batches().retrieve(id);
    while (b.status().equals(Batch.Status.VALIDATING) && System.nanoTime() < deadline) {
      LockSupport.parkNanos(20_000_000);
      b = sdk.batches().retrieve(id);
    }
    return b;
  }

  @Test
  void openModeUploadCreateValidateListCancelDownloadDelete() throws Exception {
    start();
    OpenAIClient sdk = sdk("sk-anything");
    StringBuilder content = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      content.append(line("req-" + i, "gpt-4o-mini"));
    }
    Path file = jsonl("input.jsonl", content.toString());
    FileObject uploaded = upload(sdk, file);
    assertThat(uploaded.id()).startsWith("file-");
    assertThat(uploaded.bytes()).isEqualTo(Files.size(file));
    assertThat(uploaded.filename()).isEqualTo("input.jsonl");
    assertThat(uploaded.purpose()).isEqualTo(FileObject.Purpose.BATCH);
    assertThat(sdk.files().retrieve(uploaded.id()).id()).isEqualTo(uploaded.id());

    try (com.openai.core.http.HttpResponse response = sdk.files().content(uploaded.id());
        InputStream body = response.body()) {
      assertThat(body.readAllBytes()).isEqualTo(Files.readAllBytes(file));
    }

    Batch created = create(sdk, uploaded.id());
    assertThat(created.id()).startsWith("batch_");
    assertThat(created.status()).isEqualTo(Batch.Status.VALIDATING);
    assertThat(created.endpoint()).isEqualTo(EP);
    assertThat(created.completionWindow()).isEqualTo("24h");
    assertThat(created.expiresAt()).hasValue(created.createdAt() + 86_400);
    assertThat(created.metadata().orElseThrow().toString()).contains("job").contains("nightly");
    created.validate(); // every field as the SDK models it

    Batch running = validated(sdk, created.id());
    assertThat(running.status()).isEqualTo(Batch.Status.IN_PROGRESS);
    assertThat(running.inProgressAt()).isPresent();
    assertThat(running.model()).hasValue("gpt-4o-mini");
    assertThat(running.requestCounts().orElseThrow().total()).isEqualTo(3);
    assertThat(running.requestCounts().orElseThrow().completed()).isZero();
    assertThat(running.errors()).isEmpty();
    running.validate();

    // Lines stored in order, bodies as written.
    List<BatchLine> claimed =
        fixture.gateway().batches().store().claim(running.id(), 10, 0, 1, "probe");
    assertThat(claimed).extracting(BatchLine::customId).containsExactly("req-0", "req-1", "req-2");
    assertThat(claimed.get(2).body())
        .isEqualTo(
            "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi"
                + " req-2\"}]}");

    // Pagination: three batches, two per page.
    String second = create(sdk, uploaded.id()).id();
    String third = create(sdk, uploaded.id()).id();
    BatchListPage page = sdk.batches().list(BatchListParams.builder().limit(2).build());
    assertThat(page.data()).extracting(Batch::id).containsExactly(third, second);
    assertThat(page.hasMore()).hasValue(true);
    assertThat(page.hasNextPage()).isTrue();
    BatchListPage next = page.nextPage();
    assertThat(next.data()).extracting(Batch::id).containsExactly(created.id());
    assertThat(next.hasMore()).hasValue(false);

    Batch cancelling = sdk.batches().cancel(created.id());
    assertThat(cancelling.status()).isEqualTo(Batch.Status.CANCELLING);
    assertThat(cancelling.cancellingAt()).isPresent();
    // Again: answered as it is.
    assertThat(sdk.batches().cancel(created.id()).status()).isEqualTo(Batch.Status.CANCELLING);

    // The admin sees it with its progress (open mode: no owner).
    JsonNode admin = adminGet("/admin/batches/" + created.id());
    assertThat(admin.path("status").asText()).isEqualTo("cancelling");
    assertThat(admin.path("owner").isNull()).isTrue();
    assertThat(admin.path("progress").path("claimed").asInt()).isEqualTo(3);
    assertThat(admin.path("progress").path("eta_seconds").isNull()).isTrue();
    JsonNode adminList = adminGet("/admin/batches?status=cancelling&limit=10");
    assertThat(adminList.path("data")).hasSize(1);
    assertThat(adminList.path("has_more").asBoolean()).isFalse();
    assertThat(adminList.path("first_id").asText()).isEqualTo(created.id());

    FileDeleted deleted = sdk.files().delete(uploaded.id());
    assertThat(deleted.deleted()).isTrue();
    assertThat(deleted.id()).isEqualTo(uploaded.id());
    assertThatThrownBy(() -> sdk.files().retrieve(uploaded.id()))
        .isInstanceOf(NotFoundException.class);
    assertThat(sdk.files().list().data()).extracting(FileObject::id).doesNotContain(uploaded.id());
    assertThatThrownBy(() -> create(sdk, uploaded.id())).isInstanceOf(NotFoundException.class);
  }

  @Test
  void aBadFileFailsTheBatchNamingTheLine() throws Exception {
    start();
    OpenAIClient sdk = sdk("sk-anything");
    String content =
        line("a", "gpt-4o-mini") + "\n{not json\n" + line("a", "gpt-4o-mini") + line("b", "gpt-4o");
    FileObject file = upload(sdk, jsonl("bad.jsonl", content));
    Batch failed = validated(sdk, create(sdk, file.id()).id());
    assertThat(failed.status()).isEqualTo(Batch.Status.FAILED);
    assertThat(failed.failedAt()).isPresent();
    List<com.openai.models.batches.BatchError> errors =
        failed.errors().orElseThrow().data().orElseThrow();
    assertThat(errors)
        .extracting(e -> e.code().orElseThrow())
        .containsExactly("invalid_json_line", "duplicate_custom_id", "mismatched_model");
    assertThat(errors).extracting(e -> e.line().orElseThrow()).containsExactly(3L, 4L, 5L);
    failed.validate();
    assertThatThrownBy(() -> sdk.batches().cancel(failed.id()))
        .isInstanceOf(com.openai.errors.OpenAIServiceException.class)
        .satisfies(
            e ->
                assertThat(((com.openai.errors.OpenAIServiceException) e).statusCode())
                    .isEqualTo(409));
  }

  @Test
  void badRequestsAreRefusedInOpenAisShape() throws Exception {
    start();
    OpenAIClient sdk = sdk("sk-anything");
    // Too large: 413, nothing kept.
    Path big = jsonl("big.jsonl", "x".repeat((int) MAX_FILE + 1));
    assertThatThrownBy(() -> upload(sdk, big))
        .isInstanceOf(com.openai.errors.OpenAIServiceException.class)
        .satisfies(
            e ->
                assertThat(((com.openai.errors.OpenAIServiceException) e).statusCode())
                    .isEqualTo(413));
    Path exact = jsonl("exact.jsonl", "y".repeat((int) MAX_FILE));
    assertThat(upload(sdk, exact).bytes()).isEqualTo(MAX_FILE);
    try (var files =
        Files.list(
            ((DirectoryFileStore) fixture.gateway().batches().files().fileStore()).directory())) {
      assertThat(files.filter(f -> !f.getFileName().toString().startsWith("."))).hasSize(1);
    }

    // Wrong purpose: 400 naming purpose.
    HttpResponse<String> purpose =
        multipart("fine-tune", "a.jsonl", "{}\n".getBytes(StandardCharsets.UTF_8));
    assertThat(purpose.statusCode()).isEqualTo(400);
    assertThat(error(purpose).path("param").asText()).isEqualTo("purpose");
    HttpResponse<String> noFile = multipart("batch", null, null);
    assertThat(noFile.statusCode()).isEqualTo(400);
    assertThat(error(noFile).path("param").asText()).isEqualTo("file");
    HttpResponse<String> notMultipart =
        fixture.post("/v1/files", "{}", Map.of("Content-Type", "application/json"));
    assertThat(notMultipart.statusCode()).isEqualTo(400);

    // A hand-made multipart body with binary content comes back byte for byte.
    byte[] binary = new byte[5_000];
    new java.util.Random(3).nextBytes(binary);
    HttpResponse<String> raw = multipart("batch", "bin.dat", binary);
    assertThat(raw.statusCode()).isEqualTo(200);
    String rawId = RequestReader.JSON.readTree(raw.body()).path("id").asText();
    HttpResponse<byte[]> content =
        fixture
            .http()
            .send(
                HttpRequest.newBuilder(
                        URI.create(fixture.baseUrl() + "/files/" + rawId + "/content"))
                    .build(),
                HttpResponse.BodyHandlers.ofByteArray());
    assertThat(content.body()).isEqualTo(binary);

    // Batches: not JSON, unknown file, bad endpoint, window, metadata.
    Map<String, Integer> statuses =
        Map.of(
            "{not json",
            400,
            "{\"input_file_id\":\"file-nope\",\"endpoint\":\""
                + EP
                + "\",\"completion_window\":\"24h\"}",
            404,
            "{\"input_file_id\":\""
                + rawId
                + "\",\"endpoint\":\"/v1/images\",\"completion_window\":\"24h\"}",
            400,
            "{\"input_file_id\":\""
                + rawId
                + "\",\"endpoint\":\""
                + EP
                + "\",\"completion_window\":\"1h\"}",
            400,
            "{\"input_file_id\":\""
                + rawId
                + "\",\"endpoint\":\""
                + EP
                + "\",\"completion_window\":\"24h\",\"metadata\":{\"k\":1}}",
            400,
            "{\"endpoint\":\"" + EP + "\",\"completion_window\":\"24h\"}",
            400);
    for (Map.Entry<String, Integer> c : statuses.entrySet()) {
      HttpResponse<String> r =
          fixture.post("/v1/batches", c.getKey(), Map.of("Content-Type", "application/json"));
      assertThat(r.statusCode()).as(c.getKey()).isEqualTo(c.getValue());
      assertThat(error(r).path("type").asText()).as(c.getKey()).isEqualTo("invalid_request_error");
    }
    assertThatThrownBy(() -> sdk.batches().retrieve("batch_nope"))
        .isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> sdk.batches().list(BatchListParams.builder().limit(101).build()))
        .isInstanceOf(BadRequestException.class);
  }

  @Test
  void withKeysEachSeesOnlyItsOwnFilesAndBatches() throws Exception {
    start();
    String alice = createKey("alice");
    String bob = createKey("bob");
    OpenAIClient a = sdk(alice);
    OpenAIClient b = sdk(bob);
    assertThatThrownBy(() -> sdk("pk-not-a-key-000000000000000000000000").files().list())
        .isInstanceOf(UnauthorizedException.class);
    assertThat(fixture.get("/v1/batches", Map.of()).statusCode()).isEqualTo(401);

    Path file = jsonl("in.jsonl", line("x", "gpt-4o-mini"));
    FileObject mine = upload(a, file);
    Batch batch = create(a, mine.id());
    assertThat(validated(a, batch.id()).status()).isEqualTo(Batch.Status.IN_PROGRESS);

    assertThatThrownBy(() -> b.files().retrieve(mine.id())).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(
            () -> {
              try (com.openai.core.http.HttpResponse r = b.files().content(mine.id())) {
                r.body().close();
              }
            })
        .isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> b.files().delete(mine.id())).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> b.batches().retrieve(batch.id()))
        .isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> b.batches().cancel(batch.id())).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> create(b, mine.id())).isInstanceOf(NotFoundException.class);
    assertThat(b.files().list().data()).isEmpty();
    assertThat(b.batches().list().data()).isEmpty();
    assertThat(a.files().list().data()).extracting(FileObject::id).containsExactly(mine.id());
    assertThat(a.batches().list().data()).extracting(Batch::id).containsExactly(batch.id());

    JsonNode admin = adminGet("/admin/batches");
    assertThat(admin.path("data").get(0).path("owner").path("name").asText()).isEqualTo("alice");
    assertThat(admin.path("data").get(0).path("progress").path("pending").asInt()).isEqualTo(1);

    assertThat(a.batches().cancel(batch.id()).status()).isEqualTo(Batch.Status.CANCELLING);
    JsonNode adminCancel = adminPost("/admin/batches/" + batch.id() + "/cancel");
    assertThat(adminCancel.path("status").asText()).isEqualTo("cancelling");
  }

  @Test
  void aBatchLeftValidatingIsValidatedAtTheNextStart() throws Exception {
    start();
    OpenAIClient sdk = sdk("sk-anything");
    FileObject file = upload(sdk, jsonl("in.jsonl", line("x", "gpt-4o-mini")));
    BatchService service = fixture.gateway().batches();
    // Stored validating as a gateway that stopped mid-validation left it.
    BatchRecord left =
        new BatchRecord(
            "batch_left0123456789abcdef01",
            null,
            EP,
            "",
            file.id(),
            "24h",
            BatchStatus.VALIDATING,
            Map.of(),
            List.of(),
            null,
            null,
            1,
            0,
            86_401,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0);
    service.store().insertBatch(left);
    service.resume();
    assertThat(validated(sdk, left.id()).status()).isEqualTo(Batch.Status.IN_PROGRESS);
  }

  private String createKey(String name) throws Exception {
    HttpResponse<String> r =
        fixture.post(
            "/admin/keys",
            "{\"name\":\"" + name + "\"}",
            Map.of("Authorization", "Bearer " + ADMIN, "Content-Type", "application/json"));
    assertThat(r.statusCode()).isEqualTo(201);
    return RequestReader.JSON.readTree(r.body()).path("key").asText();
  }

  private JsonNode adminGet(String path) throws Exception {
    HttpResponse<String> r = fixture.get(path, Map.of("Authorization", "Bearer " + ADMIN));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return RequestReader.JSON.readTree(r.body());
  }

  private JsonNode adminPost(String path) throws Exception {
    HttpResponse<String> r = fixture.post(path, "", Map.of("Authorization", "Bearer " + ADMIN));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return RequestReader.JSON.readTree(r.body());
  }

  private static JsonNode error(HttpResponse<String> r) throws Exception {
    return RequestReader.JSON.readTree(r.body()).path("error");
  }

  /** A multipart upload made by hand: the purpose after the file, as some clients send it. */
  private HttpResponse<String> multipart(
      String purpose, @Nullable String filename, byte @Nullable [] content) throws Exception {
    String boundary = "hand-made-boundary-42";
    java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
    if (content != null) {
      body.write(
          ("--"
                  + boundary
                  + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
                  + filename
                  + "\"\r\nContent-Type: application/octet-stream\r\n\r\n")
              .getBytes(StandardCharsets.UTF_8));
      body.write(content);
      body.write("\r\n".getBytes(StandardCharsets.UTF_8));
    }
    body.write(
        ("--"
                + boundary
                + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
                + purpose
                + "\r\n--"
                + boundary
                + "--\r\n")
            .getBytes(StandardCharsets.UTF_8));
    return fixture
        .http()
        .send(
            HttpRequest.newBuilder(URI.create(fixture.baseUrl() + "/files"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }
}
