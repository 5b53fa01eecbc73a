package dev.penstock.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.mock.KeyStats;
import dev.penstock.server.http.GatewayServer;
import dev.penstock.server.testing.OneJvmCluster;
import dev.penstock.server.testing.RedisProcess;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Redis goes away under load and comes back empty (it keeps nothing on disk): three gateways in one
 * JVM report themselves not ready and fall back to a third each of what the cluster had left, the
 * key sees no {@code 429} and no second above its rate throughout, and within seconds of Redis's
 * return every instance is back on leases, having re-seeded the new generation.
 */
class ClusterFallbackTest {
  private static final long RPM = 1_200; // 20 a second

  @TempDir Path dir;

  @Test
  void redisGoneMeansNotReadyAndAThirdEachThenLeasesAgain() throws Exception {
    try (RedisProcess redis = RedisProcess.start(dir);
        OneJvmCluster cluster = new OneJvmCluster(dir, redis.url(), "fallback", RPM, 5)) {
      OneJvmCluster.await("every instance on leases", () -> cluster.allConnected(true));
      for (GatewayServer g : cluster.gateways()) {
        assertThat(cluster.ready(g)).isEqualTo(200);
      }

      OneJvmCluster.Load load = cluster.load(30);
      OneJvmCluster.runUntil(System.nanoTime() + TimeUnit.SECONDS.toNanos(3));

      redis.stop();
      OneJvmCluster.await("every instance sees Redis gone", () -> cluster.allConnected(false));
      for (GatewayServer g : cluster.gateways()) {
        assertThat(cluster.ready(g)).as("not ready while on the fallback").isEqualTo(503);
      }
      double outageRate = rateOver(cluster, 4);

      redis.restart(); // empty: a new generation, which the instances re-seed
      OneJvmCluster.await("every instance back on leases", () -> cluster.allConnected(true));
      for (GatewayServer g : cluster.gateways()) {
        assertThat(cluster.ready(g)).isEqualTo(200);
      }
      double afterRate = rateOver(cluster, 4);
      load.stop();

      KeyStats stats = cluster.key();
      double perSecond = RPM / 60.0;
      System.out.printf(
          "Redis away: %.1f/s delivered (key rate %.0f/s); back: %.1f/s; peak %d in a second;"
              + " %d 429s%n",
          outageRate, perSecond, afterRate, stats.peakRequests1s(), stats.rateLimited());
      assertThat(stats.rateLimited()).isZero();
      // On the fallback each instance keeps to a third of what the cluster had left: together at
      // most the rate (the cluster's window held only these few seconds' use).
      assertThat(outageRate).isLessThanOrEqualTo(perSecond * 1.05);
      assertThat(outageRate).isGreaterThan(perSecond * 0.5);
      assertThat(afterRate).isGreaterThan(perSecond * 0.8).isLessThanOrEqualTo(perSecond * 1.05);
      assertThat(stats.peakRequests1s()).isLessThanOrEqualTo((long) (perSecond * 1.35));
    }
  }

  /** The key's arrivals a second over the next {@code seconds} of load. */
  private static double rateOver(OneJvmCluster cluster, long seconds) {
    long before = cluster.key().requests();
    long from = System.nanoTime();
    OneJvmCluster.runUntil(from + TimeUnit.SECONDS.toNanos(seconds));
    return (cluster.key().requests() - before) / ((System.nanoTime() - from) / 1e9);
  }
}
