package dev.penstock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Real {@code penstock} processes for end-to-end tests ({@code penstock mock}, {@code penstock
 * serve}, ...), each in its own JVM on this test's class path, with what they print; {@link
 * #stopAll} stops every one still running. Shared by the tests tagged {@code e2e} that run
 * processes.
 *
 * <p>Addresses: every child binds port 0 and prints the address it got (the mock's banner line,
 * serve's "penstock gateway at" line), which the test reads from its output: a port picked here,
 * closed, and passed to a child could be taken by any other process in between.
 *
 * <p>Waits: every wait has a bound ({@link #READY}, {@link #LINE}, {@link #EXIT}, {@link
 * #REQUEST}); a failure says what was awaited and shows everything the child printed.
 */
final class PenstockProcesses {
  static final Duration READY = Duration.ofSeconds(60);
  static final Duration LINE = Duration.ofSeconds(30);
  static final Duration EXIT = Duration.ofSeconds(20);
  static final Duration REQUEST = Duration.ofSeconds(30);

  /** The first base URL in a ready line, e.g. {@code http://127.0.0.1:41234/v1}. */
  private static final Pattern BASE_URL = Pattern.compile("http://[^\\s,]+/v1");

  private final List<Child> children = new ArrayList<>();

  /** A penstock process and everything it has printed, stdout and stderr merged. */
  static final class Child {
    /** Put after the last line; no child prints a NUL. */
    private static final String END = "\u0000end of output";

    final Process process;
    private final LinkedBlockingQueue<String> unread = new LinkedBlockingQueue<>();

    // Appended by the pump thread while the test reads it: StringBuffer's locking is wanted.
    @SuppressWarnings("JdkObsolete")
    private final StringBuffer transcript = new StringBuffer();

    Child(Process process) {
      this.process = process;
      Thread.ofVirtual().name("output of " + process.pid()).start(this::pump);
    }

    private void pump() {
      try (BufferedReader output = process.inputReader(StandardCharsets.UTF_8)) {
        for (String line = output.readLine(); line != null; line = output.readLine()) {
          transcript.append(line).append('\n');
          unread.add(line);
        }
      } catch (IOException e) {
        transcript.append("(output unreadable: ").append(e).append(")\n");
      } finally {
        unread.add(END);
      }
    }

    /** Waits at most {@code timeout} for the next line that contains {@code text}. */
    String awaitLine(String text, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        String line = unread.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (line == null) {
          throw failure("no line containing '" + text + "' within " + timeout);
        }
        if (line.equals(END)) {
          unread.add(END); // for any later wait
          throw failure("output ended before a line containing '" + text + "'");
        }
        if (line.contains(text)) {
          return line;
        }
      }
    }

    /** The base URL in the next line that contains {@code text}, as the child printed it. */
    String awaitBaseUrl(String text, Duration timeout) throws InterruptedException {
      String line = awaitLine(text, timeout);
      Matcher url = BASE_URL.matcher(line);
      if (!url.find()) {
        throw failure("no http://HOST:PORT/v1 address in '" + line + "'");
      }
      return url.group();
    }

    /** Waits at most {@code timeout} for the child to exit, and returns all it printed. */
    String awaitExit(Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
        throw failure("still running after " + timeout);
      }
      // The pump may still be reading the last lines.
      for (String line = ""; !line.equals(END); ) {
        line = unread.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (line == null) {
          throw failure("exited, but its output did not end within " + timeout);
        }
      }
      return transcript.toString();
    }

    /** Everything printed so far. */
    String transcript() {
      return transcript.toString();
    }

    AssertionError failure(String what) {
      return new AssertionError(
          "penstock (pid " + process.pid() + "): " + what + "; its output:\n" + transcript);
    }
  }

  /**
   * The command line that runs {@code penstock} in a new JVM, without its arguments: this JVM's
   * {@code java}, with what bin/penstock's jar manifest grants (the client watch peeks at client
   * sockets), and this test's class path.
   */
  static List<String> javaCommand() {
    return List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
        "--enable-native-access=ALL-UNNAMED",
        "-cp",
        System.getProperty("java.class.path"),
        Main.class.getName());
  }

  /** Starts {@code penstock ARGS} in its own JVM. */
  Child start(String... args) throws IOException {
    List<String> command = new ArrayList<>(javaCommand());
    command.addAll(List.of(args));
    return start(new ProcessBuilder(command));
  }

  /** Starts {@code builder}'s command (stderr merged into stdout), stopped by {@link #stopAll}. */
  Child start(ProcessBuilder builder) throws IOException {
    Child child = new Child(builder.redirectErrorStream(true).start());
    children.add(child);
    return child;
  }

  /** Starts {@code penstock mock ARGS} on a port of its choice; returns its base URL. */
  String mock(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("mock"));
    command.addAll(List.of(args));
    return start(command.toArray(String[]::new)).awaitBaseUrl("penstock mock:", READY);
  }

  /** Starts {@code penstock serve ARGS}; the config says {@code listen: 127.0.0.1:0}. */
  Child serve(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("serve"));
    command.addAll(List.of(args));
    return start(command.toArray(String[]::new));
  }

  /** Sends {@code signal} ({@code TERM}, {@code HUP}...) to the child with {@code kill}. */
  static void signal(Child child, String signal) throws Exception {
    Process kill =
        new ProcessBuilder("kill", "-" + signal, Long.toString(child.process.pid())).start();
    assertThat(kill.waitFor(EXIT.toSeconds(), TimeUnit.SECONDS)).as("kill exited").isTrue();
    assertThat(kill.exitValue()).as("kill -%s's exit code", signal).isZero();
  }

  /** A request to {@code url} that gives up after {@link #REQUEST}. */
  static HttpRequest.Builder request(String url) {
    return HttpRequest.newBuilder(URI.create(url)).timeout(REQUEST);
  }

  /** Stops every child still running: SIGTERM, then SIGKILL after {@link #EXIT}. */
  void stopAll() throws InterruptedException {
    for (Child child : children) {
      child.process.destroy();
      if (!child.process.waitFor(EXIT.toSeconds(), TimeUnit.SECONDS)) {
        child.process.destroyForcibly().waitFor(EXIT.toSeconds(), TimeUnit.SECONDS);
      }
    }
  }
}
