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

/** {@code penstock usage} against a fake admin API: the query it builds, and the three outputs. */
class UsageCommandTest {
  private static final String ADMIN_KEY = "adm-usage-secret";

  private static final String BY_MODEL =
      """
      {"object":"list","group_by":"model","from":"2026-11-01T00:00:00Z",\
      "to":"2026-12-01T00:00:00Z","data":[\
      {"group":"gpt-5","requests":1204,"input_tokens":2345678,"cached_tokens":100000,\
      "output_tokens":456789,"cost_usd":7.4356725},\
      {"group":"gpt-5-mini","requests":98765,"input_tokens":12000000,"cached_tokens":0,\
      "output_tokens":3000000,"cost_usd":0.000042},\
      {"group":"text-embedding-3-small, eu","requests":5,"input_tokens":40,"cached_tokens":0,\
      "output_tokens":0,"cost_usd":0}]}""";

  private final FakeAdminServer server = new FakeAdminServer();
  private final List<Run> runs = new ArrayList<>();

  UsageCommandTest() throws IOException {}

  @AfterEach
  void theAdminKeyIsNeverPrinted() {
    server.close();
    for (Run run : runs) {
      assertThat(run.out() + run.err()).doesNotContain(ADMIN_KEY);
    }
  }

  private Run usage(String... args) {
    List<String> argv = new ArrayList<>(List.of("usage"));
    argv.addAll(List.of(args));
    argv.addAll(List.of("--url", server.url(), "--admin-key", ADMIN_KEY));
    Run run = run(argv.toArray(String[]::new));
    runs.add(run);
    return run;
  }

  @Test
  void sendsThePeriodAndGroupingAsTheQuery() {
    server.answer("GET", "/admin/usage", 200, BY_MODEL);

    Run run = usage("--from=2026-11-01", "--to=2026-12-01T00:00:00+01:00", "--group-by=MODEL");

    assertThat(run.exitCode()).isZero();
    FakeAdminServer.Request request = server.onlyRequest();
    assertThat(request.line())
        .isEqualTo(
            "GET /admin/usage?from=2026-11-01&to=2026-12-01T00%3A00%3A00%2B01%3A00"
                + "&group_by=model");
    assertThat(request.authorization()).isEqualTo("Bearer " + ADMIN_KEY);
  }

  @Test
  void withoutOptionsThePeriodIsTheGatewaysDefaultGroupedByKey() {
    server.answer("GET", "/admin/usage", 200, BY_MODEL);

    usage();

    assertThat(server.onlyRequest().line()).isEqualTo("GET /admin/usage?group_by=key");
  }

  @Test
  void printsAnAlignedTableWithATotalsRow() {
    server.answer("GET", "/admin/usage", 200, BY_MODEL);

    Run run = usage("--group-by=model");

    assertThat(run.out())
        .isEqualTo(
            """
            Usage by model from 2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z

            MODEL                       REQUESTS  INPUT TOKENS  CACHED TOKENS  OUTPUT TOKENS      COST
            gpt-5                          1,204     2,345,678        100,000        456,789   $7.4357
            gpt-5-mini                    98,765    12,000,000              0      3,000,000  <$0.0001
            text-embedding-3-small, eu         5            40              0              0     $0.00
            --------------------------  --------  ------------  -------------  -------------  --------
            total                         99,974    14,345,718        100,000      3,456,789   $7.4357
            """);
  }

  @Test
  void printsCsvWithAHeaderAtFullPrecision() {
    server.answer("GET", "/admin/usage", 200, BY_MODEL);

    Run run = usage("--group-by=model", "--csv");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .isEqualTo(
            """
            model,requests,input_tokens,cached_tokens,output_tokens,cost_usd
            gpt-5,1204,2345678,100000,456789,7.4356725
            gpt-5-mini,98765,12000000,0,3000000,0.000042
            "text-embedding-3-small, eu",5,40,0,0,0
            """);
  }

  @Test
  void printsJsonAsReceived() {
    server.answer("GET", "/admin/usage", 200, BY_MODEL);

    assertThat(usage("--json").out()).isEqualTo(BY_MODEL + "\n");
  }

  @Test
  void byKeyTheTableShowsEachKeysNameBesideItsId() {
    server.answer(
        "GET",
        "/admin/usage",
        200,
        """
        {"object":"list","group_by":"key","from":"2026-12-01T00:00:00Z",\
        "to":"2026-12-14T10:15:30Z","data":[\
        {"group":"key_2Fg5hJk8Lm1Np4Qr7St0Uv3W","name":"nightly-batch","requests":3,\
        "input_tokens":30,"cached_tokens":0,"output_tokens":12,"cost_usd":0.0001},\
        {"group":"key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D","name":"team-a","requests":1200,\
        "input_tokens":350000,"cached_tokens":0,"output_tokens":90000,"cost_usd":1.3}]}""");

    Run table = usage();
    Run csv = usage("--csv");

    assertThat(table.out())
        .isEqualTo(
            """
            Usage by key from 2026-12-01T00:00:00Z to 2026-12-14T10:15:30Z

            KEY                           NAME           REQUESTS  INPUT TOKENS  CACHED TOKENS  OUTPUT TOKENS     COST
            key_2Fg5hJk8Lm1Np4Qr7St0Uv3W  nightly-batch         3            30              0             12  $0.0001
            key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D  team-a            1,200       350,000              0         90,000    $1.30
            ----------------------------  -------------  --------  ------------  -------------  -------------  -------
            total                                           1,203       350,030              0         90,012  $1.3001
            """);
    // The CSV keeps its documented columns: scripts read them by position.
    assertThat(csv.out())
        .startsWith("key,requests,input_tokens,cached_tokens,output_tokens,cost_usd\n")
        .contains("key_7Hq2mXw9Lp4Rt8Vn3Bc6Zs1D,1200,350000,0,90000,1.3\n");
  }

  @Test
  void anEmptyPeriodSaysSo() {
    server.answer(
        "GET",
        "/admin/usage",
        200,
        """
        {"object":"list","group_by":"day","from":"2026-12-01T00:00:00Z",\
        "to":"2026-12-14T10:15:30Z","data":[]}""");

    assertThat(usage("--group-by=day").out())
        .isEqualTo(
            """
            Usage by day from 2026-12-01T00:00:00Z to 2026-12-14T10:15:30Z

            No requests in this period.
            """);
  }

  @Test
  void anErrorAnswerExitsWithOneAndNamesTheField() {
    server.answer(
        "GET",
        "/admin/usage",
        400,
        """
        {"error":{"message":"from must be before to","type":"invalid_request_error",\
        "param":"from","code":null}}""");

    Run run = usage("--from=2026-12-31", "--to=2026-12-01");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).isEqualTo("penstock: from must be before to (HTTP 400, param from)\n");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "--from=yesterday      | --from: expected a date such as 2026-12-01 or an instant",
        "--to=2026-13-01       | --to: expected a date",
        "--group-by=tenant     | --group-by",
        "--json --csv          | --json and --csv are exclusive",
      })
  void badOptionsExitWithTwoSayWhyAndSendNothing(String args, String message) {
    Run run = usage(args.strip().split(" ", -1));

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains(message).doesNotContain("Exception");
    assertThat(server.requests()).isEmpty();
  }
}
