package dev.penstock.server.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * What the build wrote into {@code build.properties}, and what a build that could not know a value
 * (a source tarball without {@code .git}) leaves there.
 */
class BuildInfoTest {
  private static Properties written(String... keysAndValues) {
    Properties p = new Properties();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      p.setProperty(keysAndValues[i], keysAndValues[i + 1]);
    }
    return p;
  }

  @Test
  void thisBuildWroteItsVersionAndTimeIntoTheResource() {
    BuildInfo current = BuildInfo.current();
    assertThat(current.version()).matches("\\d+\\.\\d+\\.\\d+.*");
    assertThat(Instant.parse(current.builtAt())).isBefore(Instant.now());
    // The commit is unknown only when the tree being built has no .git.
    assertThat(current.commit()).isNotBlank();
  }

  @Test
  void aBuildWithoutGitLeavesThePlaceholdersAndSaysUnknown() {
    BuildInfo info =
        BuildInfo.of(
            written(
                "version", "1.2.3",
                "commit", "${git.commit.id.abbrev}",
                "dirty", "${git.dirty}",
                "built", "2026-12-02T08:00:00Z"));

    assertThat(info).isEqualTo(new BuildInfo("1.2.3", "unknown", "2026-12-02T08:00:00Z"));
    // What git leaves when it runs outside a repository: no output.
    assertThat(BuildInfo.of(written("version", "1.2.3", "commit", "", "dirty", "false")).commit())
        .isEqualTo("unknown");
  }

  @Test
  void aMissingResourceSaysUnknownForEverything() {
    assertThat(BuildInfo.of(new Properties()))
        .isEqualTo(new BuildInfo("unknown", "unknown", "unknown"));
  }

  @Test
  void aTreeWithChangesIsMarkedDirty() {
    BuildInfo info =
        BuildInfo.of(
            written("version", "1.2.3", "commit", "9ff2d09", "dirty", "true", "built", "x"));
    BuildInfo clean =
        BuildInfo.of(
            written("version", "1.2.3", "commit", "9ff2d09", "dirty", "false", "built", "x"));

    assertThat(info.commit()).isEqualTo("9ff2d09-dirty");
    assertThat(clean.commit()).isEqualTo("9ff2d09");
  }

  @Test
  void theLinesStartWithTheVersionAndNameTheRuntime() {
    BuildInfo info = new BuildInfo("1.2.3", "9ff2d09", "2026-12-02T08:00:00Z");

    assertThat(info.lines()).first().isEqualTo("penstock 1.2.3");
    assertThat(info.lines())
        .contains("commit   9ff2d09", "built    2026-12-02T08:00:00Z")
        .last()
        .asString()
        .startsWith("java     " + Runtime.version());
  }
}
