package dev.penstock.server.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A gateway in a JVM of its own ({@link GatewayProcessMain}), started from a config file with the
 * test's JVM and class path, so that a test can kill it with {@code SIGKILL} and start another on
 * the same data directory. Its stdout and stderr go to files (a pipe nobody reads could block it);
 * {@link #logTail} shows them when a test fails.
 */
public final class GatewayProcess implements AutoCloseable {
  /** How long a gateway may take to start (a cold JVM on a loaded 2-core machine). */
  public static final Duration START_WAIT = Duration.ofSeconds(60);

  private static final Duration KILL_WAIT = Duration.ofSeconds(20);

  private final Process process;
  private final Path stdout;
  private final Path stderr;
  private final int port;

  private GatewayProcess(Process process, Path stdout, Path stderr, int port) {
    this.process = process;
    this.stdout = stdout;
    this.stderr = stderr;
    this.port = port;
  }

  /**
   * Starts a gateway from {@code config} (whose {@code listen} port may be 0), its output in {@code
   * logs/<name>.out} and {@code .err}; returns once it listens. Throws {@link AssertionError} with
   * its output if it exits or is not ready within {@link #START_WAIT}.
   */
  public static GatewayProcess start(Path config, Path logs, String name) {
    Path stdout = logs.resolve(name + ".out");
    Path stderr = logs.resolve(name + ".err");
    List<String> command = new ArrayList<>();
    command.add(
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    // As the launcher's manifest grants them (see ClientSockets). The C1 compiler only and the
    // serial collector: a JVM that starts in 2.5 s rather than 4.5 s on a busy 2-core machine.
    command.add("--add-exports=java.base/sun.nio.ch=ALL-UNNAMED");
    command.add("--enable-native-access=ALL-UNNAMED");
    command.add("-Xmx512m");
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-XX:+UseSerialGC");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(GatewayProcessMain.class.getName());
    command.add(config.toString());
    Process process;
    try {
      Files.createDirectories(logs);
      process =
          new ProcessBuilder(command)
              .redirectOutput(stdout.toFile())
              .redirectError(stderr.toFile())
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    long deadline = System.nanoTime() + START_WAIT.toNanos();
    while (true) {
      String out = read(stdout);
      int at = out.indexOf(GatewayProcessMain.READY);
      int end = at < 0 ? -1 : out.indexOf('\n', at);
      if (end > 0) {
        int port =
            Integer.parseInt(out.substring(at + GatewayProcessMain.READY.length(), end).strip());
        return new GatewayProcess(process, stdout, stderr, port);
      }
      if (!process.isAlive() || System.nanoTime() > deadline) {
        String why =
            process.isAlive()
                ? "is not ready after " + START_WAIT
                : "exited with " + process.exitValue();
        process.destroyForcibly();
        throw new AssertionError(
            "the gateway process " + name + " " + why + "\n" + tail(stdout, stderr));
      }
      LockSupport.parkNanos(20_000_000);
    }
  }

  public int port() {
    return port;
  }

  /** {@code http://127.0.0.1:port}, without {@code /v1}. */
  public String root() {
    return "http://127.0.0.1:" + port;
  }

  public long pid() {
    return process.pid();
  }

  /**
   * Kills the process with {@code SIGKILL} (on Linux; {@link Process#destroyForcibly}) and waits,
   * bounded, until it is gone; returns its exit status (137 after a {@code SIGKILL}).
   */
  public int kill() {
    process.destroyForcibly();
    try {
      if (!process.waitFor(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("the gateway process " + pid() + " outlived SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while killing the gateway process", e);
    }
    return process.exitValue();
  }

  /** The last lines of the process's stdout and stderr. */
  public String logTail() {
    return tail(stdout, stderr);
  }

  private static String tail(Path stdout, Path stderr) {
    return "--- "
        + stdout
        + ":\n"
        + last(read(stdout))
        + "--- "
        + stderr
        + ":\n"
        + last(read(stderr));
  }

  private static String last(String text) {
    List<String> lines = text.lines().toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size())) + "\n";
  }

  private static String read(Path file) {
    try {
      return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Kills the process if it still runs. */
  @Override
  public void close() {
    if (process.isAlive()) {
      kill();
    }
  }
}
