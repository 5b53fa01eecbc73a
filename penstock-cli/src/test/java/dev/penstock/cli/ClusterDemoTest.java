package dev.penstock.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code penstock demo --cluster N} as a real process: it refuses clearly without Redis, runs a
 * short cluster demo to its summary, and leaves no gateway process behind — neither after a normal
 * end nor after {@code SIGTERM} (Ctrl-C's path) in the middle of the load.
 *
 * <p>The runs use the machine's Redis on 127.0.0.1:6379 (skipped without it) under a cluster name
 * of their own ({@code demo-<random>}), so they share no limits with anything else there.
 */
@Tag("e2e")
class ClusterDemoTest {
  private static final Pattern PID = Pattern.compile("instance-\\d+: pid (\\d+)");
  private static final Duration RUN = Duration.ofMinutes(2);

  private final PenstockProcesses processes = new PenstockProcesses();

  @AfterEach
  void stop() throws InterruptedException {
    processes.stopAll();
  }

  @Test
  void withoutRedisItSaysSoAndExitsNonZero() throws Exception {
    int closed;
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = socket.getLocalPort();
    }
    PenstockProcesses.Child demo =
        processes.start(
            "demo", "--cluster", "2", "--redis-url", "redis://127.0.0.1:" + closed + "/0");
    String output = demo.awaitExit(PenstockProcesses.EXIT);
    assertThat(demo.process.exitValue()).as(output).isEqualTo(1);
    assertThat(output).contains("Redis is not reachable at 127.0.0.1:" + closed);
    assertThat(output).doesNotContain("pid ");
  }

  @Test
  void aShortRunShowsEveryInstanceAndTheKeysAndStopsItsChildren() throws Exception {
    assumeTrue(ClusterDemo.redisAnswers("127.0.0.1", 6379), "no Redis on 127.0.0.1:6379");
    PenstockProcesses.Child demo =
        processes.start(
            "demo",
            "--cluster",
            "2",
            "--keys",
            "2",
            "--rpm",
            "60",
            "--tpm",
            "100000",
            "--rate",
            "240/min",
            "--duration",
            "6",
            "--timeout-ms",
            "2000");
    String output = demo.awaitExit(RUN);
    assertThat(demo.process.exitValue()).as(output).isZero();
    assertThat(output)
        .contains("cluster of 2", "instance-1", "instance-2", "combined", "pool-0", "pool-1")
        .contains("max 60 s window / RPM")
        .containsPattern("2 instances delivered \\d+ RPM together with 0 provider 429s");
    assertGone(pids(output), output);
  }

  @Test
  void sigtermInTheMiddleStopsEveryChild() throws Exception {
    assumeTrue(ClusterDemo.redisAnswers("127.0.0.1", 6379), "no Redis on 127.0.0.1:6379");
    PenstockProcesses.Child demo =
        processes.start(
            "demo",
            "--cluster",
            "2",
            "--keys",
            "2",
            "--rpm",
            "60",
            "--rate",
            "120/min",
            "--duration",
            "300");
    demo.awaitLine("Offering", RUN);
    List<Long> pids = pids(demo.transcript());
    assertThat(pids).hasSize(2);
    PenstockProcesses.signal(demo, "TERM");
    String output = demo.awaitExit(Duration.ofMinutes(1));
    assertGone(pids, output);
  }

  private static List<Long> pids(String output) {
    List<Long> pids = new ArrayList<>();
    Matcher m = PID.matcher(output);
    while (m.find()) {
      pids.add(Long.parseLong(m.group(1)));
    }
    return pids;
  }

  private static void assertGone(List<Long> pids, String output) {
    assertThat(pids).as("the children's pids in: %s", output).isNotEmpty();
    for (long pid : pids) {
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
          .as("child %d still running after the demo ended; its output:%n%s", pid, output)
          .isFalse();
    }
  }
}
