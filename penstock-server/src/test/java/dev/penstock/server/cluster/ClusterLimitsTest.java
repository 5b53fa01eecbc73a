package dev.penstock.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.mock.KeyStats;
import dev.penstock.server.http.GatewayServer;
import dev.penstock.server.testing.OneJvmCluster;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three gateways in one JVM, one cluster on the machine's Redis (a fresh cluster name each run), in
 * front of one strict simulated key, offered twice its rate spread over the three: together they
 * send at the key's rate, not three times it, smoothly, with no {@code 429}. (The 60 s windows and
 * real processes are {@code ClusterProcessesTest}'s.)
 */
class ClusterLimitsTest {
  private static final long RPM = 1_200; // 20 a second

  @TempDir Path dir;

  @Test
  void threeInstancesTogetherSendAtTheKeysRateAndNoFaster() throws Exception {
    try (OneJvmCluster cluster =
        new OneJvmCluster(dir, "redis://127.0.0.1:6379/0", "t-" + UUID.randomUUID(), RPM, 3)) {
      OneJvmCluster.await("instances reach Redis", () -> cluster.allConnected(true));

      // Twice the key's rate, a third to each instance, for 8 s.
      long seconds = 8;
      long start = System.nanoTime();
      OneJvmCluster.Load load = cluster.load(40);
      // The steady part: from 2 s on, once every instance holds leases.
      OneJvmCluster.runUntil(start + TimeUnit.SECONDS.toNanos(2));
      long requestsBefore = cluster.key().requests();
      long callsBefore = cluster.calls();
      long steadyStart = System.nanoTime();
      OneJvmCluster.runUntil(start + TimeUnit.SECONDS.toNanos(seconds));
      KeyStats stats = cluster.key();
      double steadySeconds = (System.nanoTime() - steadyStart) / 1e9;
      long steadyRequests = stats.requests() - requestsBefore;
      long steadyCalls = cluster.calls() - callsBefore;
      load.stop();

      double perSecond = RPM / 60.0;
      double rate = steadyRequests / steadySeconds;
      System.out.printf(
          "cluster of 3 over one %d RPM key (%.0f/s): %.2f/s delivered in the steady %.1f s (%.3f"
              + " of the rate), peak %d in one second, %d 429s; %.2f Redis calls a request%n",
          RPM,
          perSecond,
          rate,
          steadySeconds,
          rate / perSecond,
          stats.peakRequests1s(),
          stats.rateLimited(),
          (double) steadyCalls / Math.max(1, steadyRequests));
      assertThat(stats.rateLimited()).isZero();
      // Not three times the rate (each instance alone would send at the full rate), nor above
      // it...
      assertThat(rate).isLessThanOrEqualTo(perSecond * 1.03);
      // ...but nearly all of it, although every instance is leased its part (the cluster counts
      // each grant for the window plus two leases: 60/61.75 of the rate at most).
      assertThat(rate).isGreaterThanOrEqualTo(perSecond * 0.9);
      // Smooth: no second far above the rate. (Three instances at the full rate would show three
      // times it; the margin is for this JVM's own jitter: three gateways, the simulator and 120
      // clients on two cores.)
      assertThat(stats.peakRequests1s()).isLessThanOrEqualTo((long) (perSecond * 1.35));
      for (GatewayServer g : cluster.gateways()) {
        assertThat(g.cluster().orElseThrow().connected()).isTrue();
      }
    }
  }
}
