package dev.penstock.server.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.penstock.server.batch.BatchJson;
import dev.penstock.server.batch.BatchRecord;
import dev.penstock.server.batch.BatchService;
import dev.penstock.server.batch.BatchStatus;
import dev.penstock.server.batch.FileRecord;
import dev.penstock.server.batch.FileService;
import dev.penstock.server.batch.Page;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.pipeline.ErrorResponses;
import dev.penstock.server.tenant.StorageException;
import dev.penstock.server.tenant.Tenants;
import dev.penstock.server.tenant.VirtualKey;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of OpenAI's Files and Batches API ({@code /v1/files}, {@code /v1/batches}) and the
 * operator's {@code /admin/batches}: requests parsed, callers identified, answers written; what
 * they do is {@link FileService}'s and {@link BatchService}'s.
 *
 * <p>The caller is the virtual key presented when keys are required ({@code 401} otherwise, as on
 * every {@code /v1} path), none in open mode. Uploads are streamed to disk part by part ({@link
 * MultipartReader}): the {@code /v1} body limit does not apply to them, {@code
 * batches.max_file_bytes} does.
 */
final class BatchRoutes {
  private static final Logger LOG = LoggerFactory.getLogger(BatchRoutes.class);

  /** The largest form field other than the file (purpose and the like). */
  private static final int MAX_FIELD_BYTES = 64 * 1024;

  /** The most parts an upload may have. */
  private static final int MAX_PARTS = 16;

  /** The largest create-batch body: a few ids and 16 metadata pairs. */
  private static final int MAX_CREATE_BODY = 64 * 1024;

  /** OpenAI's largest page of files. */
  private static final int MAX_FILE_PAGE = 10_000;

  private final BatchService batches;
  private final FileService files;
  private final Tenants tenants;
  private final AdminApi admin;

  BatchRoutes(BatchService batches, Tenants tenants, AdminApi admin) {
    this.batches = batches;
    this.files = batches.files();
    this.tenants = tenants;
    this.admin = admin;
  }

  /** An answer to write: a JSON body and its status. */
  private record Answer(int status, ObjectNode body) {}

  @FunctionalInterface
  private interface Call {
    @Nullable Answer serve(@Nullable String caller) throws IOException;
  }

  void register(HttpRouting.Builder routing) {
    routing
        .post("/v1/files", (req, res) -> v1(req, res, caller -> upload(caller, req, res)))
        .get(
            "/v1/files",
            (req, res) ->
                v1(
                    req,
                    res,
                    caller -> {
                      Page<FileRecord> page =
                          files.list(
                              caller,
                              query(req, "purpose"),
                              query(req, "after"),
                              limit(req, MAX_FILE_PAGE, MAX_FILE_PAGE));
                      return ok(BatchJson.list(page, BatchJson::file, FileRecord::id));
                    }))
        .get(
            "/v1/files/{id}",
            (req, res) -> v1(req, res, caller -> ok(BatchJson.file(files.get(caller, id(req))))))
        .get(
            "/v1/files/{id}/content",
            (req, res) -> v1(req, res, caller -> content(caller, req, res)))
        .delete(
            "/v1/files/{id}",
            (req, res) ->
                v1(req, res, caller -> ok(BatchJson.deleted(files.delete(caller, id(req)).id()))))
        .post(
            "/v1/batches",
            (req, res) ->
                v1(req, res, caller -> ok(BatchJson.batch(batches.create(caller, smallBody(req))))))
        .get(
            "/v1/batches",
            (req, res) ->
                v1(
                    req,
                    res,
                    caller ->
                        ok(
                            BatchJson.list(
                                batches.list(caller, query(req, "after"), limit(req, 20, 100)),
                                BatchJson::batch,
                                BatchRecord::id))))
        .get(
            "/v1/batches/{id}",
            (req, res) -> v1(req, res, caller -> ok(BatchJson.batch(batches.get(caller, id(req))))))
        .post(
            "/v1/batches/{id}/cancel",
            (req, res) ->
                v1(req, res, caller -> ok(BatchJson.batch(batches.cancel(caller, id(req))))))
        .get(
            "/admin/batches",
            (req, res) ->
                admin(
                    req,
                    res,
                    () -> {
                      Page<BatchRecord> page =
                          batches.adminList(
                              status(query(req, "status")),
                              query(req, "after"),
                              limit(req, 20, 100));
                      return ok(BatchJson.list(page, this::adminView, BatchRecord::id));
                    }))
        .get(
            "/admin/batches/{id}",
            (req, res) -> admin(req, res, () -> ok(adminView(batches.adminGet(id(req))))))
        .post(
            "/admin/batches/{id}/cancel",
            (req, res) -> admin(req, res, () -> ok(adminView(batches.adminCancel(id(req))))));
  }

  // ---- what the routes do ----

  /** {@code POST /v1/files}: multipart/form-data with {@code file} and {@code purpose}. */
  private @Nullable Answer upload(@Nullable String caller, ServerRequest req, ServerResponse res)
      throws IOException {
    String boundary =
        MultipartReader.boundary(req.headers().first(HeaderNames.CONTENT_TYPE).orElse(""));
    if (boundary == null) {
      throw ApiError.invalid(
          "A file is uploaded as multipart/form-data (with a boundary), with the fields 'file' and"
              + " 'purpose'.",
          null,
          "invalid_content_type");
    }
    long max = files.maxFileBytes();
    long declared = req.headers().contentLength().orElse(-1);
    if (declared > max + MAX_PARTS * (long) MAX_FIELD_BYTES) {
      // Refused before a byte is read; the rest of the body is not read either.
      res.header(HeaderNames.CONNECTION, "close");
      throw FileService.tooLarge(max);
    }
    FileService.Staged staged = null;
    String purpose = null;
    try (InputStream in = req.content().inputStream()) {
      MultipartReader reader = new MultipartReader(in, boundary);
      int parts = 0;
      MultipartReader.Part part;
      while ((part = reader.next()) != null) {
        if (++parts > MAX_PARTS) {
          throw new MultipartReader.MalformedException("more than " + MAX_PARTS + " parts");
        }
        switch (part.name()) {
          case "file" -> {
            if (staged != null) {
              throw ApiError.invalid("Only one 'file' may be uploaded.", "file", "invalid_value");
            }
            staged = files.stage(filename(part.filename()), part.content());
          }
          case "purpose" -> purpose = field(part.content());
          default -> field(part.content()); // read and ignored (expires_after and the like)
        }
      }
    } catch (MultipartReader.MalformedException e) {
      discard(staged);
      res.header(HeaderNames.CONNECTION, "close");
      throw ApiError.invalid(
          "The multipart/form-data body could not be parsed: " + e.getMessage() + ".",
          null,
          "invalid_multipart");
    } catch (ApiError e) {
      discard(staged);
      res.header(HeaderNames.CONNECTION, "close"); // the rest of the body was not read
      throw e;
    } catch (IOException | UncheckedIOException e) {
      discard(staged);
      throw new CloseConnectionException("the upload ended early: " + e.getMessage());
    }
    if (staged == null) {
      throw ApiError.invalid(
          "Missing required parameter: 'file'.", "file", "missing_required_parameter");
    }
    return ok(BatchJson.file(files.register(caller, staged, purpose)));
  }

  private void discard(FileService.@Nullable Staged staged) {
    if (staged != null) {
      files.discard(staged);
    }
  }

  private static String filename(@Nullable String given) {
    if (given == null || given.isBlank()) {
      return "upload.jsonl";
    }
    // A browser may send a path; the name is what counts.
    String name = given.substring(Math.max(given.lastIndexOf('/'), given.lastIndexOf('\\')) + 1);
    return name.length() > 255 ? name.substring(0, 255) : name;
  }

  private static String field(InputStream content) throws IOException {
    byte[] bytes = content.readNBytes(MAX_FIELD_BYTES + 1);
    if (bytes.length > MAX_FIELD_BYTES) {
      throw new MultipartReader.MalformedException(
          "a form field other than 'file' is larger than " + MAX_FIELD_BYTES + " bytes");
    }
    return new String(bytes, StandardCharsets.UTF_8).trim();
  }

  /** {@code GET /v1/files/{id}/content}: the bytes as uploaded (or as the batch wrote them). */
  private @Nullable Answer content(@Nullable String caller, ServerRequest req, ServerResponse res)
      throws IOException {
    FileRecord file = files.get(caller, id(req));
    try (InputStream in = files.content(caller, file.id())) {
      res.header(HeaderNames.CONTENT_TYPE, "application/octet-stream");
      res.header(HeaderNames.CONTENT_LENGTH, Long.toString(file.bytes()));
      try (OutputStream out = res.outputStream()) {
        in.transferTo(out);
      }
    }
    return null;
  }

  /**
   * The dashboard's batches: every unfinished one, then those that ended in the last hour, newest
   * first (at most 50 of those), each as the admin API shows it.
   */
  com.fasterxml.jackson.databind.node.ArrayNode dashboard(long nowMillis) {
    com.fasterxml.jackson.databind.node.ArrayNode out =
        com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
    for (BatchRecord b : batches.store().unfinished()) {
      out.add(adminView(b));
    }
    long since = nowMillis / 1000 - 3600;
    for (BatchRecord b : batches.store().batches(null, null, 50)) {
      long ended =
          Math.max(
              Math.max(b.completedAt(), b.failedAt()), Math.max(b.expiredAt(), b.cancelledAt()));
      if (b.status().terminal() && ended >= since) {
        out.add(adminView(b));
      }
    }
    return out;
  }

  private ObjectNode adminView(BatchRecord b) {
    String owner = b.ownerKeyId();
    String name =
        owner == null ? null : tenants.keys().find(owner).map(VirtualKey::name).orElse(null);
    return BatchJson.admin(
        b, name, batches.store().counts(b.id()), batches.progress().linesPerMinute(b.id()));
  }

  // ---- requests ----

  private static String id(ServerRequest req) {
    return req.path().pathParameters().get("id");
  }

  private static @Nullable String query(ServerRequest req, String name) {
    return req.query().first(name).orElse(null);
  }

  private static int limit(ServerRequest req, int standard, int max) {
    String given = query(req, "limit");
    if (given == null) {
      return standard;
    }
    try {
      int limit = Integer.parseInt(given.trim());
      if (limit >= 1 && limit <= max) {
        return limit;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw ApiError.invalid(
        "Invalid value for 'limit': it must be a whole number from 1 to " + max + ".",
        "limit",
        "invalid_value");
  }

  private static @Nullable BatchStatus status(@Nullable String given) {
    if (given == null || given.isEmpty()) {
      return null;
    }
    try {
      return BatchStatus.fromWire(given.trim());
    } catch (IllegalArgumentException e) {
      throw ApiError.invalid(
          "Invalid value for 'status': '"
              + (given.length() > 32 ? given.substring(0, 32) : given)
              + "'. Use validating, in_progress, finalizing, completed, failed, expired, cancelling"
              + " or cancelled.",
          "status",
          "invalid_value");
    }
  }

  private static byte[] smallBody(ServerRequest req) throws IOException {
    try (InputStream in = req.content().inputStream()) {
      byte[] bytes = in.readNBytes(MAX_CREATE_BODY + 1);
      if (bytes.length > MAX_CREATE_BODY) {
        throw new ApiError(
            413,
            "invalid_request_error",
            "The body is larger than " + MAX_CREATE_BODY + " bytes.",
            null,
            "request_too_large",
            -1);
      }
      return bytes;
    }
  }

  // ---- answers ----

  private static Answer ok(ObjectNode body) {
    return new Answer(200, body);
  }

  /** Serves a {@code /v1} files or batches request once its caller is known. */
  private void v1(ServerRequest req, ServerResponse res, Call call) {
    answer(
        res,
        () -> {
          String caller = null;
          if (tenants.authRequired()) {
            String presented =
                Tenants.presentedKey(
                    req.headers().first(HeaderNames.AUTHORIZATION).orElse(""),
                    req.headers().first(HeaderNames.create("api-key")).orElse(""));
            caller = tenants.keys().authenticate(presented).orElseThrow(Tenants::invalidKey).id();
          }
          return call.serve(caller);
        });
  }

  private void admin(ServerRequest req, ServerResponse res, Body call) {
    answer(
        res,
        () -> {
          admin.authorise(
              req.headers().first(HeaderNames.AUTHORIZATION), req.remotePeer().address());
          return call.get();
        });
  }

  @FunctionalInterface
  private interface Body {
    @Nullable Answer get() throws IOException;
  }

  private static void answer(ServerResponse res, Body body) {
    try {
      Answer answer = body.get();
      if (answer != null) {
        json(res, answer.status(), answer.body());
      }
    } catch (ApiError e) {
      send(res, e);
    } catch (StorageException e) {
      LOG.error("batches: the storage failed: {}", e.getMessage());
      send(
          res,
          new ApiError(
              503,
              "server_error",
              "The gateway's storage failed (see the gateway's log).",
              null,
              "storage_unavailable",
              5_000));
    } catch (CloseConnectionException e) {
      throw e;
    } catch (IOException | UncheckedIOException e) {
      // The client went away mid-request or mid-answer.
      throw new CloseConnectionException("batches: the client went away: " + e.getMessage());
    } catch (RuntimeException e) {
      LOG.error("batches: unexpected failure", e);
      if (!res.isSent()) {
        send(res, ErrorResponses.ofProtocol(500));
      }
    }
  }

  private static void send(ServerResponse res, ApiError error) {
    if (res.isSent()) {
      return;
    }
    GatewayRoutes.send(res, error);
  }

  private static void json(ServerResponse res, int status, ObjectNode body) throws IOException {
    res.status(status);
    res.header(HeaderNames.CONTENT_TYPE, "application/json");
    res.send(RequestReader.JSON.writeValueAsBytes(body));
  }
}
