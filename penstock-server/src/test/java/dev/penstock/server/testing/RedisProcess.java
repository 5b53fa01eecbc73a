package dev.penstock.server.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * A {@code redis-server} of a test's own, on a free loopback port with its working directory in the
 * test's temp dir and nothing kept on disk ({@code --save "" --appendonly no}, like the cluster's
 * Redis in production: SPEC 13 says it keeps nothing that cannot be re-seeded). A test can {@link
 * #stop} it mid-run and {@link #restart} it on the same port, empty, as a Redis that crashed and
 * came back; the machine's shared Redis on 6379 is never touched.
 *
 * <p>A shutdown hook kills the server if the test JVM exits without closing it.
 */
public final class RedisProcess implements AutoCloseable {
  private static final Duration START_WAIT = Duration.ofSeconds(20);
  private static final Duration STOP_WAIT = Duration.ofSeconds(20);

  private final Path dir;
  private final int port;
  private final Thread reaper;
  private @Nullable Process process;
  private int starts;

  private RedisProcess(Path dir, int port) {
    this.dir = dir;
    this.port = port;
    this.reaper = new Thread(this::destroy, "redis-" + port + "-reaper");
  }

  /** Starts {@code redis-server} in {@code dir} on a free port; returns once it answers PING. */
  public static RedisProcess start(Path dir) {
    RedisProcess redis = new RedisProcess(dir, freePort());
    Runtime.getRuntime().addShutdownHook(redis.reaper);
    try {
      redis.launch();
    } catch (RuntimeException | Error e) {
      redis.close();
      throw e;
    }
    return redis;
  }

  public int port() {
    return port;
  }

  /** {@code redis://127.0.0.1:port/0}. */
  public String url() {
    return "redis://127.0.0.1:" + port + "/0";
  }

  public boolean running() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /**
   * Stops the server ({@code SIGKILL}: as abrupt as a crash) and waits, bounded, until it exits.
   */
  public void stop() {
    Process p = process;
    if (p == null) {
      return;
    }
    p.destroyForcibly();
    try {
      if (!p.waitFor(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("redis-server on port " + port + " outlived SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while stopping redis-server", e);
    }
    process = null;
  }

  /** Starts the server again on the same port, empty; returns once it answers PING. */
  public void restart() {
    stop();
    launch();
  }

  private void launch() {
    starts++;
    Path log = dir.resolve("redis-" + port + "-" + starts + ".log");
    List<String> command =
        List.of(
            "redis-server",
            "--port",
            Integer.toString(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir.toString());
    try {
      Files.createDirectories(dir);
      process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
    } catch (IOException e) {
      throw new AssertionError(
          "cannot start redis-server (is it installed?): " + e.getMessage(), e);
    }
    long deadline = System.nanoTime() + START_WAIT.toNanos();
    while (!ping()) {
      Process p = process;
      if (p == null || !p.isAlive() || System.nanoTime() > deadline) {
        String why = p != null && !p.isAlive() ? "exited" : "does not answer PING";
        throw new AssertionError(
            "redis-server on port "
                + port
                + " "
                + why
                + " after "
                + START_WAIT
                + ":\n"
                + read(log));
      }
      LockSupport.parkNanos(20_000_000);
    }
  }

  /** Whether the server answers {@code PING} with {@code +PONG} within a second. */
  public boolean ping() {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1_000);
      socket.setSoTimeout(1_000);
      OutputStream out = socket.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] answer = new byte[7];
      int n = in.readNBytes(answer, 0, 7);
      return new String(answer, 0, n, StandardCharsets.US_ASCII).startsWith("+PONG");
    } catch (IOException e) {
      return false;
    }
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A port free right now (the kernel's choice); redis-server binds it a moment later. */
  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void destroy() {
    Process p = process;
    if (p != null) {
      p.destroyForcibly();
    }
  }

  @Override
  public void close() {
    try {
      stop();
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(reaper);
      } catch (IllegalStateException e) {
        // the JVM is shutting down: the hook runs (or ran) anyway
      }
    }
  }
}
