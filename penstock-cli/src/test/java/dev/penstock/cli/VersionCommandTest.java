package dev.penstock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.cli.bench.ProgressStyle;
import dev.penstock.server.telemetry.BuildInfo;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code penstock version} and {@code penstock --version} print the same build's lines. */
class VersionCommandTest {
  private static String run(String... args) {
    StringWriter out = new StringWriter();
    CommandLine cli = Main.commandLine(ProgressStyle.LINES).setOut(new PrintWriter(out, true));
    assertThat(cli.execute(args)).isZero();
    return out.toString();
  }

  @Test
  void versionNamesTheVersionTheCommitTheBuildTimeAndTheRuntime() {
    BuildInfo build = BuildInfo.current();

    String printed = run("version");

    assertThat(printed.lines()).first().isEqualTo("penstock " + build.version());
    assertThat(printed)
        .contains("commit   " + build.commit(), "built    " + build.builtAt())
        .contains("java     " + Runtime.version());
    assertThat(build.version()).isNotEqualTo(BuildInfo.UNKNOWN);
  }

  @Test
  void theVersionOptionAgreesWithTheCommand() {
    assertThat(run("--version")).isEqualTo(run("version"));
  }
}
