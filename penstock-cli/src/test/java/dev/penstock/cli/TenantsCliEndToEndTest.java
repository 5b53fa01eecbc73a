package dev.penstock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.penstock.cli.bench.ProgressStyle;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code penstock keys} and {@code penstock usage} against a real {@code penstock serve}: the
 * commands run in this JVM as the launcher runs them (the admin key from {@code
 * PENSTOCK_ADMIN_KEY}), the gateway in its own, so that the CLI meets the server's real answers
 * rather than the fake admin API of the unit tests.
 */
@Tag("e2e")
class TenantsCliEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final PenstockProcesses processes = new PenstockProcesses();
  private final List<Run> runs = new ArrayList<>();

  @TempDir Path dir;

  /** What one command returned and printed. */
  private record Run(int exitCode, String out, String err) {}

  @AfterEach
  void stop() throws InterruptedException {
    processes.stopAll();
    for (Run run : runs) {
      assertThat(run.out() + run.err()).doesNotContain(TenantGateway.ADMIN_KEY);
    }
  }

  /** Runs {@code penstock ARGS --url GATEWAY}; fails unless it exits with 0. */
  private Run penstock(TenantGateway gateway, String... args) {
    Run run = run(gateway, args);
    assertThat(run.exitCode())
        .as("penstock %s: %s%s", List.of(args), run.out(), run.err())
        .isZero();
    return run;
  }

  /** Runs {@code penstock ARGS --url GATEWAY}. */
  private Run run(TenantGateway gateway, String... args) {
    List<String> argv = new ArrayList<>(List.of(args));
    argv.addAll(List.of("--url", gateway.root()));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exitCode =
        Main.commandLine(
                ProgressStyle.LINES,
                Map.of("PENSTOCK_ADMIN_KEY", TenantGateway.ADMIN_KEY),
                Clock.systemUTC())
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true))
            .execute(argv.toArray(String[]::new));
    Run run = new Run(exitCode, out.toString(), err.toString());
    runs.add(run);
    return run;
  }

  /** The line of {@code output} that starts with {@code id}. */
  private static String lineOf(String output, String id) {
    return output
        .lines()
        .filter(line -> line.startsWith(id + " "))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no line for " + id + " in:\n" + output));
  }

  private static String group(Pattern pattern, String text) {
    Matcher matcher = pattern.matcher(text);
    assertThat(matcher.find()).as("%s in:\n%s", pattern, text).isTrue();
    return matcher.group(1);
  }

  @Test
  void createUseListUpdateReportAndRevokeAKey() throws Exception {
    TenantGateway gateway = TenantGateway.start(processes, dir);
    String model = TenantGateway.MODEL;

    Run created =
        penstock(
            gateway,
            "keys",
            "create",
            "--name",
            "cli-e2e",
            "--rpm",
            "100",
            "--budget-daily",
            "5",
            "--model",
            model,
            "--metadata",
            "team=ml",
            "--metadata",
            "env=e2e");
    String id =
        group(Pattern.compile("Created virtual key (key_\\S+) \\(cli-e2e\\):"), created.out());
    String key = group(Pattern.compile("(?m)^\\s+(pk-\\S+)$"), created.out());

    try (HttpClient http = TenantGateway.http()) {
      HttpResponse<String> served =
          http.send(gateway.chat(key), HttpResponse.BodyHandlers.ofString());
      assertThat(served.statusCode()).as(served.body()).isEqualTo(200);

      String listed = lineOf(penstock(gateway, "keys", "list").out(), id);
      assertThat(listed)
          .contains("cli-e2e", "pk-…" + key.substring(key.length() - 4), "live", model, "100")
          .containsPattern("\\$0\\.\\d+/\\$5\\.00"); // spent today/daily budget

      assertThat(penstock(gateway, "keys", "update", id, "--rpm", "5").out())
          .containsPattern("(?m)^rpm +5$");
      JsonNode shown = JSON.readTree(penstock(gateway, "keys", "show", id, "--json").out());
      assertThat(shown.path("rpm").asLong()).isEqualTo(5);
      // Only the field named changed.
      assertThat(shown.path("name").asText()).isEqualTo("cli-e2e");
      assertThat(shown.path("budget_usd_daily").asDouble()).isEqualTo(5.0);
      assertThat(shown.path("models").toString()).isEqualTo("[\"" + model + "\"]");
      assertThat(shown.path("metadata").toString()).isEqualTo("{\"team\":\"ml\",\"env\":\"e2e\"}");
      assertThat(shown.path("state").asText()).isEqualTo("live");

      // What else update sends, as the server reads it: a cleared map, an expiry, a priority.
      penstock(
          gateway,
          "keys",
          "update",
          id,
          "--clear-metadata",
          "--expires-in",
          "30d",
          "--max-priority",
          "normal",
          "--budget-monthly",
          "10");
      JsonNode updated = JSON.readTree(penstock(gateway, "keys", "show", id, "--json").out());
      assertThat(updated.path("metadata").toString()).isEqualTo("{}");
      assertThat(Instant.parse(updated.path("expires_at").asText()))
          .isBetween(
              Instant.now().plus(Duration.ofDays(29)), Instant.now().plus(Duration.ofDays(31)));
      assertThat(updated.path("max_priority").asText()).isEqualTo("normal");
      assertThat(updated.path("budget_usd_monthly").asDouble()).isEqualTo(10.0);
      assertThat(updated.path("rpm").asLong()).isEqualTo(5);
      assertThat(penstock(gateway, "keys", "show", id).out())
          .contains("this month", "of $10.00 monthly budget")
          .containsPattern("(?m)^max priority +normal$")
          .containsPattern("(?m)^metadata +none$");

      // The server's own refusals reach the user as one line, with the field at fault.
      Run unknown = run(gateway, "keys", "show", "key_nope");
      assertThat(unknown.exitCode()).isOne();
      assertThat(unknown.err())
          .isEqualTo("penstock: No virtual key has the id 'key_nope'. (HTTP 404, param id)\n");
      Run wrongKey = run(gateway, "keys", "list", "--admin-key", "adm-wrong");
      assertThat(wrongKey.exitCode()).isOne();
      assertThat(wrongKey.err())
          .isEqualTo(
              "penstock: The admin API needs the admin key as a bearer token. (HTTP 401); the"
                  + " admin key was refused: check --admin-key or PENSTOCK_ADMIN_KEY\n");
      Run tooLong = run(gateway, "keys", "update", id, "--name", "n".repeat(65));
      assertThat(tooLong.exitCode()).isOne();
      assertThat(tooLong.err())
          .isEqualTo(
              "penstock: 'name' must be text of 1 to 64 printable characters."
                  + " (HTTP 400, param name)\n");

      JsonNode usage =
          JSON.readTree(penstock(gateway, "usage", "--group-by", "key", "--json").out());
      assertThat(usage.path("group_by").asText()).isEqualTo("key");
      assertThat(usage.path("data")).hasSize(1);
      JsonNode row = usage.path("data").get(0);
      assertThat(row.path("group").asText()).isEqualTo(id);
      assertThat(row.path("name").asText()).isEqualTo("cli-e2e");
      assertThat(row.path("requests").asLong()).isEqualTo(1);
      assertThat(row.path("cost_usd").asDouble()).isPositive();
      String table = penstock(gateway, "usage", "--group-by", "key").out();
      assertThat(table).contains("KEY", "NAME");
      assertThat(lineOf(table, id)).containsPattern(" cli-e2e +1 ");

      // The new limit holds from the next request: 5 a minute, one of them maybe used already.
      int refused = 0;
      for (int i = 0; i < 6 && refused == 0; i++) {
        HttpResponse<String> answer =
            http.send(gateway.chat(key), HttpResponse.BodyHandlers.ofString());
        if (answer.statusCode() == 429) {
          refused++;
          assertThat(answer.headers().firstValue("x-ratelimit-limit-requests")).hasValue("5");
        } else {
          assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        }
      }
      assertThat(refused).as("a request over the updated RPM refused").isOne();

      assertThat(penstock(gateway, "keys", "revoke", id).out())
          .startsWith("Revoked " + id + " (cli-e2e) at ");
      HttpResponse<String> revoked =
          http.send(gateway.chat(key), HttpResponse.BodyHandlers.ofString());
      assertThat(revoked.statusCode()).isEqualTo(401);
      assertThat(revoked.body()).contains("invalid_api_key");
      assertThat(lineOf(penstock(gateway, "keys", "list").out(), id)).contains("revoked");
    }
  }
}
