package dev.penstock.cli.admin;

import static dev.penstock.cli.admin.AdminCli.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.penstock.cli.admin.AdminCli.Run;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code penstock keys} against a fake admin API: what each subcommand sends, and what it prints.
 */
class KeysCommandTest {
  private static final String ADMIN_KEY = "adm-0123456789-secret";
  private static final String SECRET = "pk-Zq8vN3xY7wLm2Kp5Rt9sB4cD";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A key as the API answers it, at {@link AdminCli#NOW}: live, with every field set. */
  private static final String TEAM_A =
      """
      {"id":"key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D","name":"team-a","models":["gpt-5","gpt-5-mini"],\
      "rpm":600,"tpm":100000,"max_priority":"normal","budget_usd_daily":5,\
      "budget_usd_monthly":100.5,"expires_at":"2027-01-13T10:15:30Z",\
      "metadata":{"team":"ml","env":"prod"},"created_at":"2026-12-14T10:15:30Z",\
      "revoked_at":null,"suffix":"B4cD","spend_usd_today":0.4213,"spend_usd_month":12.5}""";

  /** Revoked, no limits. */
  private static final String BATCH =
      """
      {"id":"key_2Fg5hJk8Lm1Np4Qr7St0Uv3W","name":"nightly-batch","models":[],"rpm":0,\
      "tpm":0,"max_priority":"low","budget_usd_daily":0,"budget_usd_monthly":0,\
      "expires_at":null,"metadata":{},"created_at":"2026-11-02T08:00:00Z",\
      "revoked_at":"2026-12-01T09:30:00Z","suffix":"x9Qa","spend_usd_today":0,\
      "spend_usd_month":0.0042}""";

  /** Expired a second before {@link AdminCli#NOW}. */
  private static final String TRIAL =
      """
      {"id":"key_9Yx6Wv3Ut0Sr7Qp4On1Ml8Kj","name":"trial","models":["gpt-5-mini"],"rpm":20,\
      "tpm":0,"max_priority":"low","budget_usd_daily":1,"budget_usd_monthly":0,\
      "expires_at":"2026-12-14T10:15:29Z","metadata":{},"created_at":"2026-12-07T10:15:29Z",\
      "revoked_at":null,"suffix":"f00d","spend_usd_today":0,"spend_usd_month":1}""";

  private final FakeAdminServer server = new FakeAdminServer();
  private final List<Run> runs = new ArrayList<>();

  KeysCommandTest() throws IOException {}

  @AfterEach
  void theAdminKeyIsNeverPrinted() {
    server.close();
    for (Run run : runs) {
      assertThat(run.out() + run.err()).doesNotContain(ADMIN_KEY);
    }
  }

  /** Runs {@code penstock keys ARGS} against the fake server with the admin key. */
  private Run keys(String... args) {
    List<String> argv = new ArrayList<>(List.of("keys"));
    argv.addAll(List.of(args));
    argv.addAll(List.of("--url", server.url(), "--admin-key", ADMIN_KEY));
    Run run = run(argv.toArray(String[]::new));
    runs.add(run);
    return run;
  }

  private static JsonNode json(String text) throws IOException {
    return JSON.readTree(text);
  }

  private static String created(String record) {
    return "{\"key\":\"" + SECRET + "\"," + record.substring(1);
  }

  @Test
  void createSendsEveryOptionAsItsFieldAndPrintsTheKeyOnce() throws IOException {
    server.answer("POST", "/admin/keys", 201, created(TEAM_A));

    Run run =
        keys(
            "create",
            "--name=team-a",
            "--model=gpt-5",
            "--model=gpt-5-mini",
            "--rpm=600",
            "--tpm=100000",
            "--max-priority=NORMAL",
            "--budget-daily=5",
            "--budget-monthly=100.50",
            "--expires-in=30d",
            "--metadata=team=ml",
            "--metadata",
            "env=prod");

    assertThat(run.exitCode()).isZero();
    FakeAdminServer.Request request = server.onlyRequest();
    assertThat(request.line()).isEqualTo("POST /admin/keys");
    assertThat(request.authorization()).isEqualTo("Bearer " + ADMIN_KEY);
    assertThat(request.contentType()).isEqualTo("application/json");
    assertThat(json(request.body()))
        .isEqualTo(
            json(
                """
                {"name":"team-a","models":["gpt-5","gpt-5-mini"],"rpm":600,"tpm":100000,
                 "max_priority":"normal","budget_usd_daily":5,"budget_usd_monthly":100.50,
                 "expires_at":"2027-01-13T10:15:30Z","metadata":{"team":"ml","env":"prod"}}"""));
    assertThat(run.out())
        .isEqualTo(
            """
            Created virtual key key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D (team-a):

                pk-Zq8vN3xY7wLm2Kp5Rt9sB4cD

            This is the only time the key is shown: it will not be shown again. Store it now.
            """);
    assertThat(run.err()).isEmpty();
  }

  @Test
  void createWithOnlyANameSendsOnlyTheName() throws IOException {
    server.answer("POST", "/admin/keys", 201, created(BATCH));

    assertThat(keys("create", "--name", "nightly-batch").exitCode()).isZero();

    assertThat(json(server.onlyRequest().body())).isEqualTo(json("{\"name\":\"nightly-batch\"}"));
  }

  @Test
  void createWithAnInstantOrNeverSendsThatExpiry() throws IOException {
    server.answer("POST", "/admin/keys", 201, created(TEAM_A));

    keys("create", "--name=a", "--expires=2027-01-01T02:00:00+02:00");
    keys("create", "--name=b", "--expires=never");

    List<JsonNode> expiries = new ArrayList<>();
    for (FakeAdminServer.Request request : server.requests()) {
      expiries.add(json(request.body()).get("expires_at"));
    }
    assertThat(expiries).containsExactly(json("\"2027-01-01T00:00:00Z\""), json("null"));
  }

  @Test
  void createWithJsonPrintsTheAnswerAsReceived() {
    server.answer("POST", "/admin/keys", 201, created(TEAM_A));

    Run run = keys("create", "--name=team-a", "--json");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).isEqualTo(created(TEAM_A) + "\n");
  }

  @Test
  void listPrintsATableWithStateSpendAndBudgets() {
    server.answer(
        "GET",
        "/admin/keys",
        200,
        "{\"object\":\"list\",\"data\":[" + TEAM_A + "," + BATCH + "," + TRIAL + "]}");

    Run run = keys("list");

    assertThat(run.exitCode()).isZero();
    assertThat(server.onlyRequest().line()).isEqualTo("GET /admin/keys");
    assertThat(server.onlyRequest().authorization()).isEqualTo("Bearer " + ADMIN_KEY);
    assertThat(run.out())
        .isEqualTo(
            """
            ID                            NAME           KEY       STATE    MODELS            RPM      TPM  TODAY SPENT/BUDGET  MONTH SPENT/BUDGET
            key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D  team-a         pk-…B4cD  live     gpt-5,gpt-5-mini  600  100,000       $0.4213/$5.00      $12.50/$100.50
            key_2Fg5hJk8Lm1Np4Qr7St0Uv3W  nightly-batch  pk-…x9Qa  revoked  all                 -        -             $0.00/-           $0.0042/-
            key_9Yx6Wv3Ut0Sr7Qp4On1Ml8Kj  trial          pk-…f00d  expired  gpt-5-mini         20        -         $0.00/$1.00             $1.00/-
            """);
  }

  @Test
  void listOfNoKeysSaysHowToCreateOne() {
    server.answer("GET", "/admin/keys", 200, "{\"object\":\"list\",\"data\":[]}");

    assertThat(keys("list").out())
        .isEqualTo("No virtual keys yet: create one with penstock keys create --name NAME.\n");
  }

  @Test
  void showPrintsEveryField() {
    server.answer("GET", "/admin/keys/key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D", 200, TEAM_A);

    Run run = keys("show", "key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .isEqualTo(
            """
            id            key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D
            name          team-a
            key           pk-…B4cD
            state         live
            models        gpt-5, gpt-5-mini
            rpm           600
            tpm           100,000
            max priority  normal
            today         $0.4213 spent of $5.00 daily budget
            this month    $12.50 spent of $100.50 monthly budget
            expires       2027-01-13T10:15:30Z
            metadata      team=ml, env=prod
            created       2026-12-14T10:15:30Z
            """);
  }

  @Test
  void showOfARevokedKeySaysWhen() {
    server.answer("GET", "/admin/keys/key_2Fg5hJk8Lm1Np4Qr7St0Uv3W", 200, BATCH);

    assertThat(keys("show", "key_2Fg5hJk8Lm1Np4Qr7St0Uv3W").out())
        .contains("state         revoked\n")
        .contains("today         $0.00 spent, no daily budget\n")
        .contains("expires       never\n")
        .contains("metadata      none\n")
        .endsWith("revoked       2026-12-01T09:30:00Z\n");
  }

  @Test
  void theIdIsSentAsOnePathSegment() {
    keys("show", "../keys?x=1 y");

    assertThat(server.onlyRequest().pathAndQuery()).isEqualTo("/admin/keys/..%2Fkeys%3Fx%3D1%20y");
  }

  @Test
  void updateSendsOnlyTheGivenFieldsAsAPatch() throws IOException {
    server.answer("PATCH", "/admin/keys/key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D", 200, TEAM_A);

    Run run = keys("update", "key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D", "--rpm=0", "--budget-daily=2.5");

    assertThat(run.exitCode()).isZero();
    FakeAdminServer.Request request = server.onlyRequest();
    assertThat(request.line()).isEqualTo("PATCH /admin/keys/key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D");
    assertThat(request.authorization()).isEqualTo("Bearer " + ADMIN_KEY);
    assertThat(json(request.body())).isEqualTo(json("{\"rpm\":0,\"budget_usd_daily\":2.5}"));
    assertThat(run.out())
        .startsWith("Updated; the key now reads:\nid            key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D\n");
  }

  @Test
  void updateClearsModelsMetadataAndExpiry() throws IOException {
    server.answer("PATCH", "/admin/keys/key_1", 200, TEAM_A);

    keys(
        "update",
        "key_1",
        "--name=renamed",
        "--clear-models",
        "--clear-metadata",
        "--expires=never");

    assertThat(json(server.onlyRequest().body()))
        .isEqualTo(
            json("{\"name\":\"renamed\",\"models\":[],\"metadata\":{},\"expires_at\":null}"));
  }

  @Test
  void updateReplacesModelsAndMetadataWithTheGivenOnes() throws IOException {
    server.answer("PATCH", "/admin/keys/key_1", 200, TEAM_A);

    keys("update", "key_1", "--model=gpt-5", "--metadata=team=infra", "--max-priority=high");

    assertThat(json(server.onlyRequest().body()))
        .isEqualTo(
            json(
                """
                {"models":["gpt-5"],"max_priority":"high","metadata":{"team":"infra"}}"""));
  }

  @Test
  void revokeSendsADeleteAndSaysWhen() {
    server.answer("DELETE", "/admin/keys/key_2Fg5hJk8Lm1Np4Qr7St0Uv3W", 200, BATCH);

    Run run = keys("revoke", "key_2Fg5hJk8Lm1Np4Qr7St0Uv3W");

    assertThat(run.exitCode()).isZero();
    assertThat(server.onlyRequest().line())
        .isEqualTo("DELETE /admin/keys/key_2Fg5hJk8Lm1Np4Qr7St0Uv3W");
    assertThat(server.onlyRequest().authorization()).isEqualTo("Bearer " + ADMIN_KEY);
    assertThat(run.out())
        .isEqualTo(
            "Revoked key_2Fg5hJk8Lm1Np4Qr7St0Uv3W (nightly-batch) at 2026-12-01T09:30:00Z:"
                + " requests with it are refused from now on.\n");
  }

  @Test
  void anErrorAnswerExitsWithOneAndPrintsTheServersMessageOnOneLine() {
    server.answer(
        "DELETE",
        "/admin/keys/key_nope",
        404,
        """
        {"error":{"message":"No virtual key with id key_nope","type":"invalid_request_error",\
        "param":null,"code":"not_found"}}""");

    Run run = keys("revoke", "key_nope");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).isEqualTo("penstock: No virtual key with id key_nope (HTTP 404)\n");
  }

  @Test
  void aBadFieldNamesIt() {
    server.answer(
        "POST",
        "/admin/keys",
        400,
        """
        {"error":{"message":"models: unknown model 'gpt-9'\\n(configured: gpt-5)",\
        "type":"invalid_request_error","param":"models","code":null}}""");

    Run run = keys("create", "--name=x", "--model=gpt-9");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err())
        .isEqualTo(
            "penstock: models: unknown model 'gpt-9' (configured: gpt-5) (HTTP 400, param"
                + " models)\n");
  }

  @Test
  void anAnswerThatIsNotJsonSaysSo() {
    server.answer("GET", "/admin/keys", 200, "<html>a proxy's page</html>");

    Run run = keys("list");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err())
        .isEqualTo("penstock: the gateway at " + server.url() + " answered something not JSON\n");
  }

  @Test
  void aRefusedAdminKeyIsNotEchoedEvenWhenTheServerDoesIt() {
    server.answer(
        "GET",
        "/admin/keys",
        401,
        "{\"error\":{\"message\":\"Bad admin key " + ADMIN_KEY + "\",\"type\":\"x\"}}");

    Run run = keys("list");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err())
        .isEqualTo(
            "penstock: Bad admin key **** (HTTP 401); the admin key was refused: check"
                + " --admin-key or PENSTOCK_ADMIN_KEY\n");
  }

  @Test
  void withoutAnAdminKeyA401SaysHowToGiveOne() {
    server.answer(
        "GET",
        "/admin/keys",
        401,
        """
        {"error":{"message":"Missing admin key","type":"invalid_request_error",\
        "param":null,"code":"invalid_api_key"}}""");

    Run run = run("keys", "list", "--url", server.url());

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(server.onlyRequest().authorization()).isNull();
    assertThat(run.err())
        .isEqualTo(
            "penstock: Missing admin key (HTTP 401); no admin key was given: pass --admin-key or"
                + " set PENSTOCK_ADMIN_KEY\n");
  }

  @Test
  void theUrlAndAdminKeyComeFromTheEnvironmentWhenNotGiven() {
    server.answer("GET", "/admin/keys", 200, "{\"object\":\"list\",\"data\":[]}");

    Run run =
        run(
            Map.of("PENSTOCK_URL", server.url() + "/", "PENSTOCK_ADMIN_KEY", ADMIN_KEY),
            "keys",
            "list");
    runs.add(run);

    assertThat(run.exitCode()).isZero();
    assertThat(server.onlyRequest().line()).isEqualTo("GET /admin/keys");
    assertThat(server.onlyRequest().authorization()).isEqualTo("Bearer " + ADMIN_KEY);
  }

  @Test
  void aGatewayNotListeningIsOneLineNamingTheUrl() {
    String url = server.url();
    server.close(); // nothing listens on its port any more

    Run run = run("keys", "list", "--url", url, "--admin-key", ADMIN_KEY);
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
        "create --name=x --rpm=-1                        | --rpm must be 0 (no limit) or more",
        "create --name=x --budget-monthly=-0.5          | --budget-monthly must be 0 (no budget)",
        "create --name=x --expires=tomorrow              | --expires: expected an instant",
        "create --name=x --expires=never --expires-in=1d | --expires and --expires-in are exclusive",
        "create --name=x --expires-in=3months            | --expires-in: expected a time",
        "create --name=x --metadata=nokv                 | KEY=VALUE",
        "create --name=x --max-priority=urgent           | --max-priority",
        "create --name=                                  | --name must not be blank",
        "create --rpm=5                                  | Missing required option: '--name=NAME'",
        "update key_1                                    | nothing to change",
        "update key_1 --model=a --clear-models           | --clear-models and --model are exclusive",
        "show                                            | Missing required parameter: 'ID'",
      })
  void badOptionsExitWithTwoSayWhyAndSendNothing(String args, String message) {
    Run run = keys(args.strip().split(" ", -1));

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains(message).doesNotContain("Exception").doesNotContain("\tat ");
    assertThat(server.requests()).isEmpty();
  }

  @Test
  void aUrlWithoutSchemeIsAUsageError() {
    Run run = run("keys", "list", "--url=localhost:8080");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .contains(
            "--url (or PENSTOCK_URL) must be an http:// or https:// address such as"
                + " http://127.0.0.1:8080, not 'localhost:8080'");
  }

  @Test
  void keysWithoutASubcommandIsAUsageError() {
    Run run = run("keys");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("Missing required subcommand");
  }
}
