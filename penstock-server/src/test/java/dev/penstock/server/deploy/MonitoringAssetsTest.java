package dev.penstock.server.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Checks the monitoring assets in deploy/: promtool accepts the rules, their unit tests and the
 * example config; the dashboard is well formed; both use only the contract's metric names.
 *
 * <p>promtool runs as a subprocess with a timeout. Without it on PATH the promtool checks fail,
 * unless PENSTOCK_SKIP_PROMTOOL=1 turns them into skipped tests.
 */
class MonitoringAssetsTest {
  private static final Path ROOT = repoRoot();
  private static final Path ALERTS = Path.of("deploy/prometheus/penstock-alerts.yml");
  private static final Path ALERT_TESTS = Path.of("deploy/prometheus/penstock-alerts.test.yml");
  private static final Path CONFIG = Path.of("deploy/prometheus/prometheus.yml");
  private static final Path DASHBOARD = Path.of("deploy/grafana/penstock-dashboard.json");

  private static final long PROMTOOL_TIMEOUT_SECONDS = 60;
  private static final Pattern METRIC_NAME = Pattern.compile("penstock_[a-z_]+");
  private static final Pattern SERIES_NAME = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)");
  private static final String DATASOURCE_UID = "${datasource}";

  private static final Set<String> ALERT_NAMES =
      Set.of(
          "PenstockHighErrorRate",
          "PenstockSlowResponses",
          "PenstockDeploymentSaturated",
          "PenstockCircuitOpen",
          "PenstockQueueWaitHigh",
          "PenstockUpstreamRateLimited",
          "PenstockDeploymentDisabled",
          "PenstockReservationLeaked",
          "PenstockLedgerBacklog",
          "PenstockDown");

  @TempDir Path tempDir;

  // --- promtool ------------------------------------------------------------------------------

  @Test
  void promtoolAcceptsTheAlertRules() throws Exception {
    assertPromtoolPasses("check", "rules", ALERTS.toString());
  }

  @Test
  void alertRuleUnitTestsPass() throws Exception {
    assertPromtoolPasses("test", "rules", ALERT_TESTS.toString());
  }

  @Test
  void promtoolAcceptsTheExampleConfig() throws Exception {
    assertPromtoolPasses("check", "config", CONFIG.toString());
  }

  /** The dashboard's queries, with Grafana's variables filled in, parsed by promtool as rules. */
  @Test
  void dashboardQueriesAreValidPromql() throws Exception {
    StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
    for (JsonNode panel : dashboard().path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        String expr =
            target
                .path("expr")
                .asText()
                .replaceAll("\\$__\\w+", "5m") // $__rate_interval, $__range
                .replaceAll("\\$\\{?\\w+}?", ".*"); // $job, $model, $deployment in =~ matchers
        rules.append(
            "      - record: dashboard:panel_%d_%s\n        expr: '%s'\n"
                .formatted(
                    panel.path("id").asInt(),
                    target.path("refId").asText(),
                    expr.replace("'", "''")));
      }
    }
    Path file = Files.writeString(tempDir.resolve("dashboard-queries.yml"), rules);
    assertPromtoolPasses("check", "rules", file.toString());
  }

  // --- alert rules ---------------------------------------------------------------------------

  @Test
  void everyAlertHasForSeverityAnnotationsAndRunbook() throws IOException {
    List<Map<?, ?>> alerts = alertRules();
    assertThat(alerts.stream().map(rule -> (String) rule.get("alert")))
        .containsExactlyInAnyOrderElementsOf(ALERT_NAMES);
    for (Map<?, ?> alert : alerts) {
      String name = (String) alert.get("alert");
      assertThat(alert.get("for")).as("%s: for", name).isNotNull();
      Map<?, ?> labels = (Map<?, ?>) alert.get("labels");
      assertThat(labels.get("severity"))
          .as("%s: severity", name)
          .isIn("critical", "warning", "info");
      Map<?, ?> annotations = (Map<?, ?>) alert.get("annotations");
      assertThat((String) annotations.get("summary")).as("%s: summary", name).contains("{{ $");
      assertThat((String) annotations.get("description"))
          .as("%s: description", name)
          .contains("{{ $");
      assertThat((String) annotations.get("runbook"))
          .as("%s: runbook", name)
          .startsWith("docs/operations.md#");
    }
  }

  // --- dashboard -----------------------------------------------------------------------------

  @Test
  void everyPanelHasATitleAQueryAndTheDatasourceVariable() throws IOException {
    JsonNode panels = dashboard().path("panels");
    assertThat(panels.size()).as("panels").isPositive();
    for (JsonNode panel : panels) {
      String title = panel.path("title").asText();
      assertThat(title).as("a panel's title: %s", panel).isNotBlank();
      assertThat(panel.path("datasource").path("uid").asText())
          .as("%s: datasource", title)
          .isEqualTo(DATASOURCE_UID);
      JsonNode targets = panel.path("targets");
      assertThat(targets.size()).as("%s: targets", title).isPositive();
      for (JsonNode target : targets) {
        assertThat(target.path("expr").asText()).as("%s: expr", title).isNotBlank();
        assertThat(target.path("datasource").path("uid").asText())
            .as("%s: target datasource", title)
            .isEqualTo(DATASOURCE_UID);
      }
    }
  }

  @Test
  void templateVariablesChooseThePrometheusDatasourceModelAndDeployment() throws IOException {
    JsonNode dashboard = dashboard();
    assertThat(dashboard.path("schemaVersion").asInt()).isGreaterThanOrEqualTo(39);
    JsonNode datasource = variable(dashboard, "datasource");
    assertThat(datasource.path("type").asText()).isEqualTo("datasource");
    assertThat(datasource.path("query").asText()).isEqualTo("prometheus");
    for (String name : List.of("model", "deployment")) {
      JsonNode variable = variable(dashboard, name);
      assertThat(variable.path("type").asText()).as(name).isEqualTo("query");
      assertThat(variable.path("definition").asText())
          .as(name)
          .startsWith("label_values(")
          .endsWith(", " + name + ")");
      assertThat(variable.path("datasource").path("uid").asText())
          .as(name)
          .isEqualTo(DATASOURCE_UID);
    }
  }

  // --- metric names --------------------------------------------------------------------------

  @Test
  void dashboardAndAlertsUseOnlyTheContractsMetricNames() throws IOException {
    Set<String> dashboardNames = new TreeSet<>();
    for (JsonNode panel : dashboard().path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        dashboardNames.addAll(penstockNames(target.path("expr").asText()));
      }
    }
    for (JsonNode variable : dashboard().path("templating").path("list")) {
      dashboardNames.addAll(penstockNames(variable.path("definition").asText()));
    }
    Set<String> alertNames = new TreeSet<>();
    for (Map<?, ?> rule : alertRules()) {
      alertNames.addAll(penstockNames((String) rule.get("expr")));
    }
    // Not vacuous: the scan does find the names it should.
    assertThat(dashboardNames).contains("penstock_requests_total", "penstock_queue_depth");
    assertThat(alertNames).contains("penstock_requests_total", "penstock_deployment_enabled");

    Set<String> unknown = new TreeSet<>();
    dashboardNames.stream()
        .filter(MonitoringAssetsTest::notInContract)
        .forEach(name -> unknown.add(DASHBOARD + ": " + name));
    alertNames.stream()
        .filter(MonitoringAssetsTest::notInContract)
        .forEach(name -> unknown.add(ALERTS + ": " + name));
    assertThat(unknown).as("metric names that are not in the /metrics contract").isEmpty();
  }

  /** The rule tests feed series by name; a misspelt one would test nothing real. */
  @Test
  void ruleTestsFeedOnlyTheContractsMetricNames() throws IOException {
    Set<String> names = new TreeSet<>();
    for (Object test : list(yaml(ALERT_TESTS).get("tests"))) {
      for (Object input : list(((Map<?, ?>) test).get("input_series"))) {
        Matcher name = SERIES_NAME.matcher((String) ((Map<?, ?>) input).get("series"));
        assertThat(name.find()).isTrue();
        names.add(name.group(1));
      }
    }
    names.remove("up");
    assertThat(names).isNotEmpty();
    assertThat(names.stream().filter(MonitoringAssetsTest::notInContract))
        .as("series in %s that are not in the /metrics contract", ALERT_TESTS)
        .isEmpty();
  }

  // --- helpers -------------------------------------------------------------------------------

  /**
   * Runs promtool in the repository root and asserts it exits with 0; its output (stdout and
   * stderr, through a file so a full pipe cannot block it) goes into the failure message.
   */
  private void assertPromtoolPasses(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(promtool().toString()));
    command.addAll(List.of(args));
    Path output = Files.createTempFile(tempDir, "promtool", ".log");
    Process process =
        new ProcessBuilder(command)
            .directory(ROOT.toFile())
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    if (!process.waitFor(PROMTOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
      fail(
          "%s did not finish within %d s:%n%s",
          String.join(" ", command), PROMTOOL_TIMEOUT_SECONDS, Files.readString(output));
    }
    assertThat(process.exitValue())
        .as(
            "%s exited with %d:%n%s",
            String.join(" ", command), process.exitValue(), Files.readString(output))
        .isZero();
  }

  private static Path promtool() {
    Optional<Path> promtool = onPath("promtool");
    if (promtool.isPresent()) {
      return promtool.get();
    }
    assumeFalse(
        "1".equals(System.getenv("PENSTOCK_SKIP_PROMTOOL")),
        "promtool is not on PATH; skipped because PENSTOCK_SKIP_PROMTOOL=1");
    return fail(
        "promtool is not on PATH: install the Debian package prometheus: apt-get install"
            + " prometheus (or set PENSTOCK_SKIP_PROMTOOL=1 to skip the promtool checks)");
  }

  private static Optional<Path> onPath(String program) {
    String path = Optional.ofNullable(System.getenv("PATH")).orElse("");
    return Stream.of(path.split(File.pathSeparator))
        .filter(dir -> !dir.isEmpty())
        .map(dir -> Path.of(dir, program))
        .filter(Files::isExecutable)
        .findFirst();
  }

  /** Maven runs tests in the module's directory; the repository root is the first parent up. */
  private static Path repoRoot() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("mvnw")) && Files.isDirectory(dir.resolve("deploy"))) {
        return dir;
      }
    }
    throw new IllegalStateException(
        "no repository root (mvnw and deploy/) above " + Path.of("").toAbsolutePath());
  }

  private static JsonNode dashboard() throws IOException {
    return new ObjectMapper().readTree(ROOT.resolve(DASHBOARD).toFile());
  }

  private static JsonNode variable(JsonNode dashboard, String name) {
    for (JsonNode variable : dashboard.path("templating").path("list")) {
      if (variable.path("name").asText().equals(name)) {
        return variable;
      }
    }
    return fail("the dashboard has no template variable %s", name);
  }

  private static Map<?, ?> yaml(Path file) throws IOException {
    return new Yaml(new SafeConstructor(new LoaderOptions()))
        .load(Files.readString(ROOT.resolve(file)));
  }

  /** Every rule, alerting or recording, of every group in the alerts file. */
  private static List<Map<?, ?>> alertRules() throws IOException {
    List<Map<?, ?>> rules = new ArrayList<>();
    for (Object group : list(yaml(ALERTS).get("groups"))) {
      for (Object rule : list(((Map<?, ?>) group).get("rules"))) {
        rules.add((Map<?, ?>) rule);
      }
    }
    return rules;
  }

  private static List<?> list(Object yaml) {
    assertThat(yaml).isInstanceOf(List.class);
    return (List<?>) yaml;
  }

  private static boolean notInContract(String name) {
    return !MetricNames.EXPOSED.contains(name);
  }

  private static Set<String> penstockNames(String text) {
    Set<String> names = new TreeSet<>();
    Matcher matcher = METRIC_NAME.matcher(text);
    while (matcher.find()) {
      names.add(matcher.group());
    }
    return names;
  }
}
