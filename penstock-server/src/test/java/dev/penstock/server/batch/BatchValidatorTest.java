package dev.penstock.server.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every way an input file can be wrong, and its code and line; and the lines of a good one. */
class BatchValidatorTest {
  private static final String EP = "/v1/chat/completions";
  private final BatchValidator validator = new BatchValidator(5, 1_000);

  private static String line(String customId, String model) {
    return "{\"custom_id\":\""
        + customId
        + "\",\"method\":\"POST\",\"url\":\""
        + EP
        + "\",\"body\":{\"model\":\""
        + model
        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"héllo\"}]}}";
  }

  private BatchValidator.Result validate(String file) throws IOException {
    return validator.validate(
        new ByteArrayInputStream(file.getBytes(StandardCharsets.UTF_8)), EP, () -> false);
  }

  private BatchRecord.BatchError only(String file) throws IOException {
    BatchValidator.Result r = validate(file);
    assertThat(r.valid()).isFalse();
    assertThat(r.errors()).hasSize(1);
    return r.errors().get(0);
  }

  @Test
  void aGoodFileGivesItsModelAndLinesWithTheirBodiesAsWritten() throws IOException {
    String file = "\uFEFF" + line("a", "m") + "\r\n\n  \n" + line("b", "m") + "\n";
    BatchValidator.Result r = validate(file);
    assertThat(r.errors()).isEmpty();
    assertThat(r.model()).isEqualTo("m");
    assertThat(r.lines()).isEqualTo(2);
    List<BatchLine> lines = new ArrayList<>();
    validator
        .lines(() -> new ByteArrayInputStream(file.getBytes(StandardCharsets.UTF_8)), EP)
        .forEach(lines::add);
    assertThat(lines).extracting(BatchLine::index).containsExactly(0, 1);
    assertThat(lines).extracting(BatchLine::customId).containsExactly("a", "b");
    assertThat(lines.get(1).body())
        .isEqualTo("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"héllo\"}]}");
  }

  @Test
  void eachBadLineIsNamedWithItsCodeAndLine() throws IOException {
    String good = line("a", "m") + "\n";
    record Case(String line, String code, String param) {}
    List<Case> cases =
        List.of(
            new Case("{not json", "invalid_json_line", null),
            new Case("[1,2]", "invalid_json_line", null),
            new Case(line("x", "m") + " {}", "invalid_json_line", null),
            new Case(
                "{\"method\":\"POST\",\"url\":\"" + EP + "\",\"body\":{\"model\":\"m\"}}",
                "missing_required_parameter",
                "custom_id"),
            new Case(
                "{\"custom_id\":7,\"method\":\"POST\",\"url\":\""
                    + EP
                    + "\",\"body\":{\"model\":\"m\"}}",
                "invalid_value",
                "custom_id"),
            new Case(
                "{\"custom_id\":\"x\",\"method\":\"GET\",\"url\":\""
                    + EP
                    + "\",\"body\":{\"model\":\"m\"}}",
                "invalid_value",
                "method"),
            new Case(
                "{\"custom_id\":\"x\",\"method\":\"POST\",\"body\":{\"model\":\"m\"}}",
                "missing_required_parameter",
                "url"),
            new Case(
                "{\"custom_id\":\"x\",\"method\":\"POST\",\"url\":\"/v1/embeddings\","
                    + "\"body\":{\"model\":\"m\"}}",
                "mismatched_endpoint",
                "url"),
            new Case(
                "{\"custom_id\":\"x\",\"method\":\"POST\",\"url\":\"" + EP + "\"}",
                "missing_required_parameter",
                "body"),
            new Case(
                "{\"custom_id\":\"x\",\"method\":\"POST\",\"url\":\"" + EP + "\",\"body\":\"hi\"}",
                "invalid_value",
                "body"),
            new Case(
                "{\"custom_id\":\"x\",\"method\":\"POST\",\"url\":\"" + EP + "\",\"body\":{}}",
                "missing_required_parameter",
                "body.model"),
            new Case(
                "{\"custom_id\":\"x\",\"method\":\"POST\",\"url\":\""
                    + EP
                    + "\",\"body\":{\"model\":3}}",
                "invalid_value",
                "body.model"),
            new Case(
                "{\"custom_id\":\"x\",\"method\":\"POST\",\"url\":\""
                    + EP
                    + "\",\"body\":{\"model\":\"m\",\"stream\":true}}",
                "unsupported_value",
                "body.stream"),
            new Case(line("x", "other"), "mismatched_model", "body.model"),
            new Case(line("a", "m"), "duplicate_custom_id", "custom_id"),
            new Case(line("x", "m" + "m".repeat(1_000)), "line_too_large", null));
    for (Case c : cases) {
      BatchRecord.BatchError e = only(good + "\n" + c.line() + "\n");
      assertThat(e.code()).as(c.line()).isEqualTo(c.code());
      assertThat(e.param()).as(c.line()).isEqualTo(c.param());
      assertThat(e.line()).as(c.line()).isEqualTo(3);
      assertThat(e.message()).as(c.line()).isNotBlank();
    }
  }

  @Test
  void everyBadLineIsReported() throws IOException {
    BatchValidator.Result r =
        validate(line("a", "m") + "\n{bad\n" + line("a", "m") + "\n" + line("c", "n") + "\n");
    assertThat(r.errors()).extracting(BatchRecord.BatchError::line).containsExactly(2, 3, 4);
    assertThat(r.errors())
        .extracting(BatchRecord.BatchError::code)
        .containsExactly("invalid_json_line", "duplicate_custom_id", "mismatched_model");
  }

  @Test
  void tooManyLinesAndEmptyFiles() throws IOException {
    StringBuilder six = new StringBuilder();
    for (int i = 0; i < 6; i++) {
      six.append(line("c" + i, "m")).append("\n\n");
    }
    BatchRecord.BatchError e = only(six.toString());
    assertThat(e.code()).isEqualTo("too_many_lines");
    assertThat(e.line()).isEqualTo(11);
    assertThat(only("").code()).isEqualTo("empty_file");
    assertThat(only("\n  \r\n\n").code()).isEqualTo("empty_file");
  }

  @Test
  void aFileThatChangedAfterValidationFailsItsLines() {
    Iterable<BatchLine> lines =
        validator.lines(
            () -> new ByteArrayInputStream("{bad\n".getBytes(StandardCharsets.UTF_8)), EP);
    assertThatThrownBy(() -> lines.iterator().hasNext()).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aStoppingGatewayGivesUp() throws IOException {
    BatchValidator.Result r =
        validator.validate(
            new ByteArrayInputStream(line("a", "m").getBytes(StandardCharsets.UTF_8)),
            EP,
            () -> true);
    assertThat(r.errors()).isEmpty();
    assertThat(r.lines()).isZero();
  }
}
