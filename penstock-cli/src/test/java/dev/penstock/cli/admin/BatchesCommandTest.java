package dev.penstock.cli.admin;

import static dev.penstock.cli.admin.AdminCli.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.cli.admin.AdminCli.Run;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code penstock batches} against a fake admin API: what each subcommand sends, and what it
 * prints.
 */
class BatchesCommandTest {
  private static final String ADMIN_KEY = "adm-0123456789-secret";

  /** Running, owned by team-a, with a known rate and time left. */
  private static final String RUNNING =
      """
      {"id":"batch_6f1c0a9e2b7d4c8a1e3f5b20","object":"batch",\
      "endpoint":"/v1/chat/completions","errors":null,\
      "input_file_id":"file-2a9d7c1e4b6f8a0c3e5d7b91","completion_window":"24h",\
      "status":"in_progress","output_file_id":null,"error_file_id":null,\
      "created_at":1797243300,"in_progress_at":1797243302,"expires_at":1797329700,\
      "finalizing_at":null,"completed_at":null,"failed_at":null,"expired_at":null,\
      "cancelling_at":null,"cancelled_at":null,\
      "request_counts":{"total":50000,"completed":12034,"failed":17},\
      "metadata":{"job":"nightly-eval"},\
      "usage":{"input_tokens":1203400,"output_tokens":240680,"total_tokens":1444080,\
      "input_tokens_details":{"cached_tokens":0}},\
      "owner":{"id":"key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D","name":"team-a"},\
      "progress":{"pending":37941,"claimed":8,"done":12034,"failed":17,\
      "lines_per_minute":1187.4,"eta_seconds":1917}}""";

  /** Finished, in open mode (no owner), with an output and an error file. */
  private static final String DONE =
      """
      {"id":"batch_0b1c2d3e4f5a6b7c8d9e0f1a","object":"batch","endpoint":"/v1/embeddings",\
      "errors":null,"input_file_id":"file-1","completion_window":"24h","status":"completed",\
      "output_file_id":"file-out","error_file_id":"file-err","created_at":1797239700,\
      "in_progress_at":1797239701,"expires_at":1797326100,"finalizing_at":1797240000,\
      "completed_at":1797240001,"failed_at":null,"expired_at":null,"cancelling_at":null,\
      "cancelled_at":null,"request_counts":{"total":40,"completed":38,"failed":2},\
      "metadata":null,"usage":{"input_tokens":400,"output_tokens":0,"total_tokens":400},\
      "owner":null,\
      "progress":{"pending":0,"claimed":0,"done":38,"failed":2,"lines_per_minute":null,\
      "eta_seconds":null}}""";

  /** Failed validation: no lines, two errors. */
  private static final String INVALID =
      """
      {"id":"batch_ffff0000ffff0000ffff0000","object":"batch",\
      "endpoint":"/v1/chat/completions","errors":{"object":"list","data":[\
      {"code":"mismatched_model","message":"Line 3 names model gpt-5,\\nline 1 gpt-5-mini",\
      "param":"body.model","line":3},\
      {"code":"duplicate_custom_id","message":"custom_id a-1 appears twice","param":"custom_id",\
      "line":7}]},"input_file_id":"file-bad","completion_window":"24h","status":"failed",\
      "output_file_id":null,"error_file_id":null,"created_at":1797243000,\
      "in_progress_at":null,"expires_at":1797329400,"finalizing_at":null,"completed_at":null,\
      "failed_at":1797243001,"expired_at":null,"cancelling_at":null,"cancelled_at":null,\
      "request_counts":{"total":0,"completed":0,"failed":0},"metadata":{},\
      "owner":{"id":"key_9Yx6Wv3Ut0Sr7Qp4On1Ml8Kj","name":"trial"},\
      "progress":{"pending":0,"claimed":0,"done":0,"failed":0,"lines_per_minute":null,\
      "eta_seconds":null}}""";

  private final FakeAdminServer server = new FakeAdminServer();
  private final List<Run> runs = new ArrayList<>();

  BatchesCommandTest() throws IOException {}

  @AfterEach
  void theAdminKeyIsNeverPrinted() {
    server.close();
    for (Run run : runs) {
      assertThat(run.out() + run.err()).doesNotContain(ADMIN_KEY);
    }
  }

  /** Runs {@code penstock batches ARGS} against the fake server with the admin key. */
  private Run batches(String... args) {
    List<String> argv = new ArrayList<>(List.of("batches"));
    argv.addAll(List.of(args));
    argv.addAll(List.of("--url", server.url(), "--admin-key", ADMIN_KEY));
    Run run = run(argv.toArray(String[]::new));
    runs.add(run);
    return run;
  }

  private static String list(boolean hasMore, String... batches) {
    return "{\"object\":\"list\",\"data\":["
        + String.join(",", batches)
        + "],\"has_more\":"
        + hasMore
        + ",\"first_id\":null,\"last_id\":null}";
  }

  @Test
  void listPrintsATableWithProgressRateAndEta() {
    server.answer("GET", "/admin/batches", 200, list(false, RUNNING, DONE, INVALID));

    Run run = batches("list");

    assertThat(run.exitCode()).isZero();
    assertThat(server.onlyRequest().line()).isEqualTo("GET /admin/batches");
    assertThat(server.onlyRequest().authorization()).isEqualTo("Bearer " + ADMIN_KEY);
    assertThat(run.out())
        .isEqualTo(
            """
            ID                              STATUS       OWNER   ENDPOINT              DONE/FAILED/TOTAL  PENDING  RATE L/MIN     ETA  CREATED
            batch_6f1c0a9e2b7d4c8a1e3f5b20  in_progress  team-a  /v1/chat/completions   12,034/17/50,000   37,941       1,187  31m57s  2026-12-14T10:15:00Z
            batch_0b1c2d3e4f5a6b7c8d9e0f1a  completed    -       /v1/embeddings                  38/2/40        -           -       -  2026-12-14T09:15:00Z
            batch_ffff0000ffff0000ffff0000  failed       trial   /v1/chat/completions              0/0/0        -           -       -  2026-12-14T10:10:00Z
            """);
    assertThat(run.err()).isEmpty();
  }

  @Test
  void listSendsStatusLimitAndAfterAndSaysHowToSeeMore() {
    server.answer("GET", "/admin/batches", 200, list(true, RUNNING));

    Run run = batches("list", "--status", "IN_PROGRESS", "--limit=1", "--after", "batch_a b");

    assertThat(run.exitCode()).isZero();
    assertThat(server.onlyRequest().pathAndQuery())
        .isEqualTo("/admin/batches?status=in_progress&limit=1&after=batch_a%20b");
    assertThat(run.out())
        .endsWith(
            "\nMore batches: penstock batches list --after batch_6f1c0a9e2b7d4c8a1e3f5b20"
                + " --status in_progress\n");
  }

  @Test
  void listOfNoBatchesSaysSo() {
    server.answer("GET", "/admin/batches", 200, list(false));

    assertThat(batches("list").out()).isEqualTo("No batches.\n");
    assertThat(batches("list", "--status=cancelled").out())
        .isEqualTo("No batches with status cancelled.\n");
  }

  @Test
  void listWithJsonPrintsTheAnswerAsReceived() {
    server.answer("GET", "/admin/batches", 200, list(false, DONE));

    Run run = batches("list", "--json");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).isEqualTo(list(false, DONE) + "\n");
  }

  @Test
  void showPrintsEveryFieldOfARunningBatch() {
    server.answer("GET", "/admin/batches/batch_6f1c0a9e2b7d4c8a1e3f5b20", 200, RUNNING);

    Run run = batches("show", "batch_6f1c0a9e2b7d4c8a1e3f5b20");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .isEqualTo(
            """
            id           batch_6f1c0a9e2b7d4c8a1e3f5b20
            status       in_progress
            owner        team-a (key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D)
            endpoint     /v1/chat/completions
            window       24h
            input file   file-2a9d7c1e4b6f8a0c3e5d7b91
            output file  -
            error file   -
            requests     12,034 completed, 17 failed, 50,000 total
            progress     37,941 pending, 8 in flight
            rate         1,187 lines/min
            eta          31m57s
            usage        input_tokens=1,203,400, output_tokens=240,680, total_tokens=1,444,080, input_tokens_details.cached_tokens=0
            metadata     job=nightly-eval
            created      2026-12-14T10:15:00Z
            in progress  2026-12-14T10:15:02Z
            expires      2026-12-15T10:15:00Z
            """);
  }

  @Test
  void showOfAFinishedBatchNamesItsFilesAndNoProgress() {
    server.answer("GET", "/admin/batches/batch_0b1c2d3e4f5a6b7c8d9e0f1a", 200, DONE);

    Run run = batches("show", "batch_0b1c2d3e4f5a6b7c8d9e0f1a");

    assertThat(run.out())
        .contains("owner        - (open mode)\n")
        .contains("output file  file-out\n")
        .contains("error file   file-err\n")
        .contains("requests     38 completed, 2 failed, 40 total\n")
        .contains("metadata     none\n")
        .contains("finalizing   2026-12-14T09:20:00Z\n")
        .contains("completed    2026-12-14T09:20:01Z\n")
        .doesNotContain("\nprogress", "\neta", "Errors");
  }

  @Test
  void showOfAFailedBatchListsItsValidationErrors() {
    server.answer("GET", "/admin/batches/batch_ffff0000ffff0000ffff0000", 200, INVALID);

    Run run = batches("show", "batch_ffff0000ffff0000ffff0000");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .contains("failed       2026-12-14T10:10:01Z\n")
        .endsWith(
            """

            Errors:
            LINE  CODE                 PARAM       MESSAGE
               3  mismatched_model     body.model  Line 3 names model gpt-5, line 1 gpt-5-mini
               7  duplicate_custom_id  custom_id   custom_id a-1 appears twice
            """);
  }

  @Test
  void theIdIsSentAsOnePathSegment() {
    batches("show", "../batches?x=1");

    assertThat(server.onlyRequest().pathAndQuery())
        .isEqualTo("/admin/batches/..%2Fbatches%3Fx%3D1");
  }

  @Test
  void cancelPostsToTheCancelUrlAndSaysWhatHappensNext() {
    String cancelling =
        RUNNING
            .replace("\"status\":\"in_progress\"", "\"status\":\"cancelling\"")
            .replace("\"cancelling_at\":null", "\"cancelling_at\":1797244000");
    server.answer("POST", "/admin/batches/batch_6f1c0a9e2b7d4c8a1e3f5b20/cancel", 200, cancelling);

    Run run = batches("cancel", "batch_6f1c0a9e2b7d4c8a1e3f5b20");

    assertThat(run.exitCode()).isZero();
    assertThat(server.onlyRequest().line())
        .isEqualTo("POST /admin/batches/batch_6f1c0a9e2b7d4c8a1e3f5b20/cancel");
    assertThat(server.onlyRequest().authorization()).isEqualTo("Bearer " + ADMIN_KEY);
    assertThat(run.out())
        .isEqualTo(
            "Cancelling batch_6f1c0a9e2b7d4c8a1e3f5b20: no new line starts; the 8 lines in flight"
                + " finish, then it is cancelled.\n");
  }

  @Test
  void cancelOfABatchAlreadyCancelledSaysSo() {
    String cancelled = DONE.replace("\"status\":\"completed\"", "\"status\":\"cancelled\"");
    server.answer("POST", "/admin/batches/batch_0b1c2d3e4f5a6b7c8d9e0f1a/cancel", 200, cancelled);

    assertThat(batches("cancel", "batch_0b1c2d3e4f5a6b7c8d9e0f1a").out())
        .isEqualTo("Cancelled batch_0b1c2d3e4f5a6b7c8d9e0f1a: 38 completed, 2 failed of 40.\n");
  }

  @Test
  void cancelOfAFinishedBatchPrintsTheServersRefusal() {
    server.answer(
        "POST",
        "/admin/batches/batch_0b1c2d3e4f5a6b7c8d9e0f1a/cancel",
        400,
        """
        {"error":{"message":"Cannot cancel a batch with status 'completed'.",\
        "type":"invalid_request_error","param":null,"code":null}}""");

    Run run = batches("cancel", "batch_0b1c2d3e4f5a6b7c8d9e0f1a");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.out()).isEmpty();
    assertThat(run.err())
        .isEqualTo("penstock: Cannot cancel a batch with status 'completed'. (HTTP 400)\n");
  }

  @Test
  void anUnknownBatchExitsWithOneAndPrintsTheServersMessage() {
    server.answer(
        "GET",
        "/admin/batches/batch_nope",
        404,
        """
        {"error":{"message":"No batch found with id 'batch_nope'.",\
        "type":"invalid_request_error","param":null,"code":"not_found"}}""");

    Run run = batches("show", "batch_nope");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).isEqualTo("penstock: No batch found with id 'batch_nope'. (HTTP 404)\n");
  }

  @Test
  void aGatewayNotListeningIsOneLineNamingTheUrl() {
    String url = server.url();
    server.close();

    Run run = run("batches", "list", "--url", url, "--admin-key", ADMIN_KEY);
    runs.add(run);

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err())
        .isEqualTo(
            "penstock: cannot connect to the gateway at "
                + url
                + " (connection refused); is it running there? Set --url or PENSTOCK_URL\n");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "list --limit=0          | --limit must be from 1 to 100, not 0",
        "list --limit=101        | --limit must be from 1 to 100, not 101",
        "list --status=running   | Invalid value for option '--status'",
        "show                    | Missing required parameter: 'ID'",
        "cancel                  | Missing required parameter: 'ID'",
      })
  void badOptionsExitWithTwoSayWhyAndSendNothing(String args, String message) {
    Run run = batches(args.strip().split(" ", -1));

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains(message).doesNotContain("Exception").doesNotContain("\tat ");
    assertThat(server.requests()).isEmpty();
  }

  @Test
  void batchesWithoutASubcommandIsAUsageError() {
    Run run = run("batches");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("Missing required subcommand");
  }

  @Test
  void etaAndRateReadForAPerson() {
    assertThat(BatchPrinter.eta(null)).isEqualTo("-");
    assertThat(BatchPrinter.eta(0L)).isEqualTo("0s");
    assertThat(BatchPrinter.eta(59L)).isEqualTo("59s");
    assertThat(BatchPrinter.eta(60L)).isEqualTo("1m00s");
    assertThat(BatchPrinter.eta(7_260L)).isEqualTo("2h01m");
    assertThat(BatchPrinter.eta(90_000L)).isEqualTo("1d01h");
    assertThat(BatchPrinter.rate(null)).isEqualTo("-");
    assertThat(BatchPrinter.rate(new java.math.BigDecimal("7.46"))).isEqualTo("7.5");
    assertThat(BatchPrinter.rate(new java.math.BigDecimal("1187.5"))).isEqualTo("1,188");
  }
}
