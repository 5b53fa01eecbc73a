package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The automatic connection limit keeps the descriptors a gateway needs under the process's. */
class ConnectionLimitTest {
  @Test
  void isHalfOfWhatTheReserveLeavesWithinItsRange() {
    assertThat(ConnectionLimit.fromDescriptors(20_000)).isEqualTo((20_000 - 1024) / 2);
    assertThat(ConnectionLimit.fromDescriptors(1_048_576)).isEqualTo(ConnectionLimit.MAX);
    assertThat(ConnectionLimit.fromDescriptors(300)).isEqualTo(ConnectionLimit.MIN);
    assertThat(ConnectionLimit.fromDescriptors(-1)).as("unknown").isEqualTo(ConnectionLimit.MAX);
    assertThat(ConnectionLimit.of(123)).as("configured").isEqualTo(123);
  }

  @Test
  void readinessEndsAbove95PercentOfTheDescriptors() {
    assertThat(ConnectionLimit.nearDescriptorLimit(950, 1000)).isFalse();
    assertThat(ConnectionLimit.nearDescriptorLimit(951, 1000)).isTrue();
    assertThat(ConnectionLimit.nearDescriptorLimit(10, 0)).as("limit unknown").isFalse();
    assertThat(ConnectionLimit.nearDescriptorLimit(1L << 40, 1L << 40)).as("no overflow").isTrue();
  }
}
