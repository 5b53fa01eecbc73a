package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The client watch's socket peek is available where the tests and the launcher run (Linux). */
class ClientSocketsTest {
  @Test
  void closedClientsCanBeToldOnThisPlatform() {
    assertThat(ClientSockets.available()).as(ClientSockets.unavailableReason()).isTrue();
  }
}
