package dev.penstock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.cli.bench.ProgressStyle;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * {@code penstock --help} and every subcommand's: what a user reads first must be clean (picocli
 * prints its format warnings on {@link System#err}, hence the swap of the standard streams), point
 * to documents the user has, and summarise each command in a whole sentence.
 */
class HelpTest {
  static Stream<String> commands() {
    return Stream.concat(
        Stream.of(""), Main.commandLine(ProgressStyle.LINES).getSubcommands().keySet().stream());
  }

  /** Everything {@code penstock COMMAND --help} prints, on any stream. */
  private static String help(String command) {
    StringWriter writers = new StringWriter();
    ByteArrayOutputStream streams = new ByteArrayOutputStream();
    PrintStream out = System.out;
    PrintStream err = System.err;
    PrintStream capture = new PrintStream(streams, true, StandardCharsets.UTF_8);
    int exitCode;
    try {
      System.setOut(capture);
      System.setErr(capture);
      CommandLine cli =
          Main.commandLine(ProgressStyle.LINES)
              .setOut(new PrintWriter(writers, true))
              .setErr(new PrintWriter(writers, true));
      exitCode = command.isEmpty() ? cli.execute("--help") : cli.execute(command, "--help");
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
    assertThat(exitCode).isZero();
    return writers + streams.toString(StandardCharsets.UTF_8);
  }

  @ParameterizedTest(name = "penstock {0} --help")
  @MethodSource("commands")
  void helpHasNoPicocliWarningAndCitesNoSpec(String command) {
    String help = help(command);
    assertThat(help).startsWith("Usage: penstock").doesNotContain("picocli", "WARN", "SPEC");
  }

  @ParameterizedTest(name = "penstock {0}")
  @MethodSource("commands")
  void theOneLineSummaryIsACompleteSentence(String command) {
    CommandLine cli = Main.commandLine(ProgressStyle.LINES);
    CommandLine.Model.CommandSpec spec =
        command.isEmpty()
            ? cli.getCommandSpec()
            : cli.getSubcommands().get(command).getCommandSpec();
    String summary = spec.usageMessage().description()[0];

    assertThat(summary).matches("[A-Z].*\\.");
  }
}
