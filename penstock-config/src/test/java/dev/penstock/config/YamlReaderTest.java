package dev.penstock.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.nodes.Node;

class YamlReaderTest {
  private static final Map<String, String> ENV =
      Map.of("KEY", "sk-secret", "PORT", "8080", "ODD", "a$b\\c");

  private final YamlReader reader = new YamlReader(ENV::get);

  /** The problems a test expects are exactly these, in this order. */
  private static final class Failure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final List<String> problems;

    Failure(List<String> problems) {
      super(String.join("; ", problems));
      this.problems = problems;
    }
  }

  private static Node node(String yaml) {
    return YamlReader.compose(yaml, Failure::new);
  }

  private Map<String, Node> fields(String yaml, String... known) {
    Map<String, Node> f = reader.fields(node(yaml), "s.", Set.of(known));
    assertThat(f).isNotNull();
    return f;
  }

  // ---- compose ----

  @Test
  void composeNamesTheLineOfASyntaxError() {
    assertThatThrownBy(() -> node("a: 1\nb: [2\n"))
        .isInstanceOfSatisfying(
            Failure.class,
            e -> {
              assertThat(e.problems).hasSize(1);
              assertThat(e.problems.get(0)).startsWith("line 3: ");
            });
  }

  @Test
  void composeRefusesAnEmptyFile() {
    assertThatThrownBy(() -> node("# only a comment\n"))
        .isInstanceOfSatisfying(
            Failure.class,
            e ->
                assertThat(e.problems)
                    .containsExactly("the file is empty; it needs at least 'models'"));
  }

  // ---- fields ----

  @Test
  void fieldsOfSomethingElseThanAMappingIsAProblemAtItsPath() {
    assertThat(reader.fields(node("[1, 2]"), "", Set.of("a"))).isNull();
    assertThat(reader.fields(node("- 1"), "retry.", Set.of("a"))).isNull();
    assertThat(reader.problems())
        .containsExactly(
            "(top level) (line 1): must be a mapping", "retry (line 1): must be a mapping");
  }

  @Test
  void anUnknownFieldListsTheKnownOnesSorted() {
    Map<String, Node> f = fields("b: 1\nzz: 2\na: 3\n", "b", "a", "c");
    assertThat(f).containsOnlyKeys("b", "a");
    assertThat(reader.problems()).containsExactly("s.zz (line 2): unknown field; known: a, b, c");
  }

  @Test
  void aFieldTwiceIsAProblemAndTheFirstIsKept() {
    Map<String, Node> f = fields("a: 1\na: 2\n", "a");
    assertThat(YamlReader.scalar(f.get("a"))).isEqualTo("1");
    assertThat(reader.problems()).containsExactly("s.a (line 2): appears twice");
  }

  @Test
  void skippedFieldsAreRememberedNotReported() {
    Map<String, Node> f =
        reader.fields(
            node("a: 1\nlisten: x\ncache: {}\n"), "", Set.of("a"), Set.of("listen", "cache"));
    assertThat(f).containsOnlyKeys("a");
    assertThat(reader.problems()).isEmpty();
    assertThat(reader.skipped()).containsExactly("listen", "cache");
  }

  @Test
  void anUnknownFieldTwiceIsReportedOnceAsUnknownThenAsRepeated() {
    fields("x: 1\nx: 2\n", "a");
    assertThat(reader.problems())
        .containsExactly("s.x (line 1): unknown field; known: a", "s.x (line 2): appears twice");
  }

  // ---- strings and substitution ----

  @Test
  void requiredReportsAtTheParentsLine() {
    Node parent = node("\n\nother: 1\n");
    Map<String, Node> f = reader.fields(parent, "d.", Set.of("other", "name"));
    assertThat(reader.required(f, "name", "d.", parent)).isNull();
    assertThat(reader.required(f, "other", "d.", parent)).isEqualTo("1");
    assertThat(reader.problems()).containsExactly("d.name (line 3): is required");
  }

  @Test
  void aStringMustBeASingleValue() {
    Map<String, Node> f = fields("a: [1]\nb: {c: 1}\n", "a", "b");
    assertThat(reader.string(f.get("a"), "s.a")).isNull();
    assertThat(reader.string(f.get("b"), "s.b")).isNull();
    assertThat(reader.problems())
        .containsExactly(
            "s.a (line 1): must be a single value", "s.b (line 2): must be a single value");
  }

  @Test
  void variablesAreReplacedWithDefaultsAndTheirCharactersKeptAsTheyAre() {
    Map<String, Node> f =
        fields(
            "a: \"Bearer ${KEY}\"\nb: ${UNSET:-fallback}\nc: ${UNSET:-}\nd: ${PORT}${PORT}\ne: ${ODD}\n",
            "a",
            "b",
            "c",
            "d",
            "e");
    assertThat(reader.string(f.get("a"), "s.a")).isEqualTo("Bearer sk-secret");
    assertThat(reader.string(f.get("b"), "s.b")).isEqualTo("fallback");
    assertThat(reader.string(f.get("c"), "s.c")).isEmpty();
    assertThat(reader.string(f.get("d"), "s.d")).isEqualTo("80808080");
    assertThat(reader.string(f.get("e"), "s.e")).isEqualTo("a$b\\c");
    assertThat(reader.problems()).isEmpty();
  }

  @Test
  void aVariableSetWinsOverItsDefault() {
    Map<String, Node> f = fields("a: ${KEY:-other}\n", "a");
    assertThat(reader.string(f.get("a"), "s.a")).isEqualTo("sk-secret");
  }

  @Test
  void aMissingVariableWithoutDefaultIsAProblemAndBecomesEmpty() {
    Map<String, Node> f = fields("a: x${MISSING}y\n", "a");
    assertThat(reader.string(f.get("a"), "s.a")).isEqualTo("xy");
    assertThat(reader.problems())
        .containsExactly(
            "s.a (line 1): environment variable MISSING is not set (and no ${MISSING:-default} is"
                + " given)");
  }

  @Test
  void stringsReadsAListAndReportsItemsThatAreNotSingleValues() {
    Map<String, Node> f = fields("a: [x, '${PORT}', [y]]\nb: x\n", "a", "b");
    assertThat(reader.strings(f.get("a"), "s.a")).containsExactly("x", "8080");
    assertThat(reader.strings(f.get("b"), "s.b")).isEmpty();
    assertThat(reader.problems())
        .containsExactly("s.a (line 1): must be a single value", "s.b (line 2): must be a list");
  }

  @Test
  void optionalStringFallsBackOnlyWhenAbsent() {
    Map<String, Node> f = fields("a: x\nb: [1]\n", "a", "b", "c");
    assertThat(reader.optionalString(f, "a", "s.", "d")).isEqualTo("x");
    assertThat(reader.optionalString(f, "c", "s.", "d")).isEqualTo("d");
    assertThat(reader.optionalString(f, "b", "s.", "d")).isNull();
    assertThat(reader.problems()).containsExactly("s.b (line 2): must be a single value");
  }

  // ---- numbers ----

  @Test
  void numbersAreCheckedAgainstTheirRangeInclusive() {
    Map<String, Node> f =
        fields("lo: 1\nhi: 10\nover: 11\nunder: 0\n", "lo", "hi", "over", "under");
    assertThat(reader.number(f, "lo", "s.", 5, 1, 10)).isEqualTo(1);
    assertThat(reader.number(f, "hi", "s.", 5, 1, 10)).isEqualTo(10);
    assertThat(reader.number(f, "over", "s.", 5, 1, 10)).isEqualTo(5);
    assertThat(reader.number(f, "under", "s.", 5, 1, 10)).isEqualTo(5);
    assertThat(reader.number(f, "absent", "s.", 5, 1, 10)).isEqualTo(5);
    assertThat(reader.problems())
        .containsExactly(
            "s.over (line 3): must be a whole number from 1 to 10, got '11'",
            "s.under (line 4): must be a whole number from 1 to 10, got '0'");
  }

  @Test
  void numbersTakeUnderscoresAndVariablesButNotFractionsOrWords() {
    Map<String, Node> f =
        fields("a: 1_000_000\nb: ${PORT}\nc: 1.5\nd: many\ne: [1]\n", "a", "b", "c", "d", "e");
    assertThat(reader.number(f, "a", "s.", 0, 0, 10_000_000)).isEqualTo(1_000_000);
    assertThat(reader.number(f, "b", "s.", 0, 0, 65_535)).isEqualTo(8080);
    assertThat(reader.number(f, "c", "s.", 7, 0, 10)).isEqualTo(7);
    assertThat(reader.number(f, "d", "s.", 7, 0, 10)).isEqualTo(7);
    assertThat(reader.number(f, "e", "s.", 7, 0, 10)).isEqualTo(7);
    assertThat(reader.problems())
        .containsExactly(
            "s.c (line 3): must be a whole number from 0 to 10, got '1.5'",
            "s.d (line 4): must be a whole number from 0 to 10, got 'many'",
            "s.e (line 5): must be a single value",
            "s.e (line 5): must be a whole number from 0 to 10, got 'null'");
  }

  @Test
  void aRequiredNumberIsRequiredThenRanged() {
    Node parent = node("rpm: 0\ntpm: ${NOPE}\n");
    Map<String, Node> f = reader.fields(parent, "d.", Set.of("rpm", "tpm", "x"));
    assertThat(reader.requiredNumber(f, "x", "d.", parent, 1, 1, 100)).isEqualTo(1);
    assertThat(reader.requiredNumber(f, "rpm", "d.", parent, 1, 1, 100)).isEqualTo(1);
    assertThat(reader.requiredNumber(f, "tpm", "d.", parent, 1, 1, 100)).isEqualTo(1);
    String unset =
        "d.tpm (line 2): environment variable NOPE is not set (and no ${NOPE:-default} is given)";
    assertThat(reader.problems())
        .containsExactly(
            "d.x (line 1): is required",
            "d.rpm (line 1): must be a whole number from 1 to 100, got '0'",
            unset,
            unset,
            "d.tpm (line 2): must be a whole number from 1 to 100, got ''");
  }

  @Test
  void decimalsAreCheckedByTheirPredicateAndNeverEchoed() {
    Map<String, Node> f = fields("a: 0.25\nb: 1.5\nc: NaN\nd: '${RATE}'\n", "a", "b", "c", "d");
    YamlReader withRate = new YamlReader(Map.of("RATE", " 0.5 ")::get);
    Map<String, Node> g = withRate.fields(node("d: '${RATE}'\n"), "s.", Set.of("d"));
    assertThat(reader.decimal(f, "a", "s.", 0.1, r -> r >= 0 && r <= 1, "from 0 to 1"))
        .isEqualTo(0.25);
    assertThat(reader.decimal(f, "b", "s.", 0.1, r -> r >= 0 && r <= 1, "from 0 to 1"))
        .isEqualTo(0.1);
    assertThat(reader.decimal(f, "c", "s.", 0.1, r -> r >= 0 && r <= 1, "from 0 to 1"))
        .isEqualTo(0.1);
    assertThat(reader.decimal(f, "x", "s.", 0.1, r -> false, "never")).isEqualTo(0.1);
    assertThat(withRate.decimal(g, "d", "s.", 0.1, r -> r >= 0 && r <= 1, "from 0 to 1"))
        .isEqualTo(0.5);
    assertThat(reader.problems())
        .containsExactly("s.b (line 2): from 0 to 1", "s.c (line 3): from 0 to 1");
  }

  @Test
  void atLeastRaisesAValueToItsLowerBoundAtTheMappingsLine() {
    Node mapping = node("base: 10\ncap: 5\n");
    assertThat(reader.atLeast(mapping, "r.cap", 5, "base", 10)).isEqualTo(10);
    assertThat(reader.atLeast(mapping, "r.cap", 10, "base", 10)).isEqualTo(10);
    assertThat(reader.problems()).containsExactly("r.cap (line 1): must be at least base");
  }

  // ---- other kinds ----

  @Test
  void boolsAreTrueOrFalseOnly() {
    Map<String, Node> f = fields("a: true\nb: false\nc: yes\n", "a", "b", "c");
    assertThat(reader.bool(f, "a", "s.", false)).isTrue();
    assertThat(reader.bool(f, "b", "s.", true)).isFalse();
    assertThat(reader.bool(f, "c", "s.", true)).isTrue();
    assertThat(reader.bool(f, "x", "s.", true)).isTrue();
    assertThat(reader.problems()).containsExactly("s.c (line 3): must be true or false");
  }

  @Test
  void oneOfNamesTheChoicesNotTheValue() {
    Map<String, Node> f = fields("a: azure\nb: ${KEY}\n", "a", "b");
    assertThat(reader.oneOf(f, "a", "s.", "must be openai or azure", "openai", "azure"))
        .isEqualTo("azure");
    assertThat(reader.oneOf(f, "b", "s.", "must be openai or azure", "openai", "azure")).isNull();
    assertThat(reader.oneOf(f, "x", "s.", "must be openai or azure", "openai", "azure")).isNull();
    assertThat(reader.problems()).containsExactly("s.b (line 2): must be openai or azure");
    assertThat(String.join("\n", reader.problems())).doesNotContain("sk-secret");
  }

  @Test
  void urlsAreHttpOrHttpsWithAHostAndLoseATrailingSlash() {
    Node n = node("x: 1\n");
    assertThat(reader.url("https://api.openai.com/v1/", n, "u"))
        .isEqualTo(URI.create("https://api.openai.com/v1"));
    assertThat(reader.url("HTTP://localhost:8080", n, "u"))
        .isEqualTo(URI.create("HTTP://localhost:8080"));
    assertThat(reader.url("ftp://host/x", n, "u")).isNull();
    assertThat(reader.url("https:///nohost", n, "u")).isNull();
    assertThat(reader.url("not a url", n, "u")).isNull();
    assertThat(reader.problems())
        .hasSize(3)
        .allMatch(
            p -> p.equals("u (line 1): must be an http(s) URL such as https://api.openai.com/v1"));
  }

  @Test
  void aHeaderValueMustBeNonEmptyWithoutControlCharactersAndIsNeverEchoed() {
    Node n = node("x: 1\n");
    assertThat(reader.headerValue("sk-secret", n, "k")).isTrue();
    assertThat(reader.headerValue("  ", n, "k")).isFalse();
    assertThat(reader.headerValue("sk-secret\r\nX-Evil: 1", n, "k")).isFalse();
    assertThat(reader.headerValue("sk-secret\u007f", n, "k")).isFalse();
    assertThat(reader.problems())
        .containsExactly(
            "k (line 1): is empty (is its environment variable set?)",
            "k (line 1): contains a control character (a line break from its environment variable?)",
            "k (line 1): contains a control character (a line break from its environment variable?)");
  }

  @Test
  void durationsTakeAUnitOrSecondsFromOneSecondToAYear() {
    Map<String, Node> f =
        fields(
            "a: 1500ms\nb: 90\nc: 30m\nd: 2h\ne: 365d\nf: 999ms\ng: 366d\nh: 1w\n",
            "a",
            "b",
            "c",
            "d",
            "e",
            "f",
            "g",
            "h");
    Duration fallback = Duration.ofSeconds(7);
    assertThat(reader.duration(f.get("a"), "s.a", fallback)).isEqualTo(Duration.ofMillis(1500));
    assertThat(reader.duration(f.get("b"), "s.b", fallback)).isEqualTo(Duration.ofSeconds(90));
    assertThat(reader.duration(f.get("c"), "s.c", fallback)).isEqualTo(Duration.ofMinutes(30));
    assertThat(reader.duration(f.get("d"), "s.d", fallback)).isEqualTo(Duration.ofHours(2));
    assertThat(reader.duration(f.get("e"), "s.e", fallback)).isEqualTo(Duration.ofDays(365));
    assertThat(reader.duration(f.get("f"), "s.f", fallback)).isEqualTo(fallback);
    assertThat(reader.duration(f.get("g"), "s.g", fallback)).isEqualTo(fallback);
    assertThat(reader.duration(f.get("h"), "s.h", fallback)).isEqualTo(fallback);
    String range = "must be a duration from 1s to 365d such as 90s, 30m, 1h or 7d, got '";
    assertThat(reader.problems())
        .containsExactly(
            "s.f (line 6): " + range + "999ms'",
            "s.g (line 7): " + range + "366d'",
            "s.h (line 8): " + range + "1w'");
  }

  @Test
  void aNonEmptyListIsReportedAtTheListOrAtTheParentWhenMissing() {
    Node parent = node("a: []\nb: x\nc: [1, 2]\n");
    Map<String, Node> f = reader.fields(parent, "s.", Set.of("a", "b", "c"));
    assertThat(reader.nonEmptyList(f.get("c"), parent, "s.c", "a list please")).hasSize(2);
    assertThat(reader.nonEmptyList(f.get("a"), parent, "s.a", "a list please")).isNull();
    assertThat(reader.nonEmptyList(f.get("b"), parent, "s.b", "a list please")).isNull();
    assertThat(reader.nonEmptyList(f.get("z"), parent, "s.z", "a list please")).isNull();
    assertThat(reader.problems())
        .containsExactly(
            "s.a (line 1): a list please",
            "s.b (line 2): a list please",
            "s.z (line 1): a list please");
  }

  @Test
  void aProblemWithoutALineIsKeptAsWrittenInOrder() {
    reader.problem(node("a: 1\n"), "a", "first");
    reader.problem("models: required");
    assertThat(reader.problems()).containsExactly("a (line 1): first", "models: required");
  }
}
