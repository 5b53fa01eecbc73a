package dev.penstock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.cli.bench.ProgressStyle;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * {@code penstock --help} and every subcommand's, nested ones ({@code keys create}) included: what
 * a user reads first must be clean (picocli prints its format warnings on {@link System#err}, hence
 * the swap of the standard streams), point to documents the user has, and summarise each command in
 * a whole sentence.
 */
class HelpTest {
  /** Every command as its words after {@code penstock}, space-separated; "" for penstock itself. */
  static Stream<String> commands() {
    return Stream.concat(Stream.of(""), below("", Main.commandLine(ProgressStyle.LINES)));
  }

  private static Stream<String> below(String prefix, CommandLine command) {
    return command.getSubcommands().entrySet().stream()
        .flatMap(
            sub -> {
              String path = prefix + sub.getKey();
              return Stream.concat(Stream.of(path), below(path + " ", sub.getValue()));
            });
  }

  /** The command line of {@code penstock COMMAND}. */
  private static CommandLine find(CommandLine root, String command) {
    CommandLine cli = root;
    for (String word : words(command)) {
      cli = cli.getSubcommands().get(word);
    }
    return cli;
  }

  private static List<String> words(String command) {
    return command.isEmpty() ? List.of() : List.of(command.split(" ", -1));
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
      List<String> args = new ArrayList<>(words(command));
      args.add("--help");
      exitCode = cli.execute(args.toArray(String[]::new));
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
    CommandLine.Model.CommandSpec spec =
        find(Main.commandLine(ProgressStyle.LINES), command).getCommandSpec();
    String summary = spec.usageMessage().description()[0];

    assertThat(summary).matches("[A-Z].*\\.");
  }
}
