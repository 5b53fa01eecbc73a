package dev.penstock.cli.admin;

import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The options every admin command shares — where the gateway is and the admin key — with what the
 * commands read from the machine: the environment (for {@code PENSTOCK_URL} and {@code
 * PENSTOCK_ADMIN_KEY}) and the clock (for a key's state and {@code --expires-in}), both injected so
 * that tests choose them. A picocli mixin.
 *
 * <p>The admin key is read from {@code PENSTOCK_ADMIN_KEY} here rather than through picocli's
 * default values, which {@code --help} could show.
 */
public final class AdminOptions {
  static final String DEFAULT_URL = "http://127.0.0.1:8080";

  private final Map<String, String> environment;
  private final Clock clock;

  @Spec(Spec.Target.MIXEE)
  private CommandSpec command;

  @Option(
      names = "--url",
      paramLabel = "URL",
      description = "The gateway's address. Default: $PENSTOCK_URL, else " + DEFAULT_URL + ".")
  private @Nullable String url;

  @Option(
      names = "--admin-key",
      paramLabel = "KEY",
      description =
          "The gateway's admin_key, sent as bearer (never printed). Default: $PENSTOCK_ADMIN_KEY.")
  private @Nullable String adminKey;

  /** With the process's environment and the system clock. */
  public AdminOptions() {
    this(System.getenv(), Clock.systemUTC());
  }

  public AdminOptions(Map<String, String> environment, Clock clock) {
    this.environment = Map.copyOf(environment);
    this.clock = clock;
  }

  /** A client for the gateway these options name; a malformed URL is a usage error (exit 2). */
  AdminClient client() {
    return new AdminClient(baseUrl(), key());
  }

  Instant now() {
    return clock.instant();
  }

  /** Where the command's results go (stdout, or what a test captures). */
  PrintWriter out() {
    return command.commandLine().getOut();
  }

  /** A usage error of the command: picocli prints it with the usage and exits with 2. */
  ParameterException usageError(String message) {
    return new ParameterException(command.commandLine(), message);
  }

  private @Nullable String key() {
    String key = adminKey != null ? adminKey : environment.get("PENSTOCK_ADMIN_KEY");
    return key == null || key.isEmpty() ? null : key;
  }

  private URI baseUrl() {
    String text = url != null ? url : environment.getOrDefault("PENSTOCK_URL", "");
    if (text.isBlank()) {
      text = DEFAULT_URL;
    }
    try {
      URI uri = new URI(text.strip().replaceAll("/+$", ""));
      if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
          || uri.getHost() == null
          || uri.getQuery() != null
          || uri.getFragment() != null) {
        throw badUrl(text);
      }
      return uri;
    } catch (URISyntaxException e) {
      throw badUrl(text);
    }
  }

  private ParameterException badUrl(String text) {
    return usageError(
        "--url (or PENSTOCK_URL) must be an http:// or https:// address such as "
            + DEFAULT_URL
            + ", not '"
            + text
            + "'");
  }
}
