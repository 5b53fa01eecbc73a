package dev.penstock.cli;

import dev.penstock.server.telemetry.BuildInfo;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code penstock version}: the version, the git commit, the build time and the Java runtime that
 * runs it. {@code penstock --version} prints the same lines ({@link Lines}).
 */
@Command(
    name = "version",
    mixinStandardHelpOptions = true,
    description =
        "Prints the version, the git commit and the build time of this build, and the Java runtime"
            + " that runs it.")
final class VersionCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    BuildInfo.current().lines().forEach(spec.commandLine().getOut()::println);
    spec.commandLine().getOut().flush();
    return 0;
  }

  /** The lines of {@code --version}, from the same {@link BuildInfo} as the command. */
  static final class Lines implements IVersionProvider {
    @Override
    public String[] getVersion() {
      return BuildInfo.current().lines().toArray(String[]::new);
    }
  }
}
