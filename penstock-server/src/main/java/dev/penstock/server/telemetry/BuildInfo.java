package dev.penstock.server.telemetry;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Properties;

/**
 * What was built: the version, the git commit and the build time, as the build wrote them into
 * {@code build.properties} (resource filtering, with the commit from git). {@code penstock
 * version}, {@code --version}, {@code /health/live} and the dashboard all read it from here, so
 * they agree.
 *
 * <p>A value the build did not know — the commit of a source tree built without {@code .git}, or
 * anything when the classes run outside a Maven build (an IDE) — reads {@link #UNKNOWN}. Immutable.
 *
 * @param version the Maven project version, e.g. {@code 0.1.0-SNAPSHOT}
 * @param commit the abbreviated commit id, with {@code -dirty} when the tree had changes
 * @param builtAt the build time, ISO-8601 in UTC
 */
public record BuildInfo(String version, String commit, String builtAt) {
  /** What a value the build did not know reads. */
  public static final String UNKNOWN = "unknown";

  private static final String RESOURCE = "build.properties";
  private static final BuildInfo CURRENT = load();

  /** The build these classes came from. */
  public static BuildInfo current() {
    return CURRENT;
  }

  /**
   * Reads the properties the build wrote; a missing key, an empty value or a placeholder the build
   * could not fill ({@code ${git.commit.id.abbrev}} without git) is {@link #UNKNOWN}.
   */
  public static BuildInfo of(Properties written) {
    String commit = value(written, "commit");
    if (!commit.equals(UNKNOWN) && value(written, "dirty").equals("true")) {
      commit += "-dirty";
    }
    return new BuildInfo(value(written, "version"), commit, value(written, "built"));
  }

  /** The lines of {@code penstock version}; the first is {@code penstock <version>}. */
  public List<String> lines() {
    return List.of(
        "penstock " + version,
        "commit   " + commit,
        "built    " + builtAt,
        "java     "
            + Runtime.version()
            + " ("
            + System.getProperty("java.vendor", UNKNOWN)
            + ", "
            + System.getProperty("java.home", UNKNOWN)
            + ")");
  }

  private static String value(Properties written, String key) {
    String value = written.getProperty(key, "").strip();
    return value.isEmpty() || value.startsWith("${") ? UNKNOWN : value;
  }

  private static BuildInfo load() {
    Properties written = new Properties();
    try (InputStream in = BuildInfo.class.getResourceAsStream(RESOURCE)) {
      if (in != null) {
        written.load(in);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE + " from the class path", e);
    }
    return of(written);
  }
}
