package dev.penstock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code penstock serve} with a database it must not use stops at once with one clear line and exit
 * status 1 — never a stack trace, never a gateway in open mode without its keys.
 */
@Tag("e2e")
class StorageStartEndToEndTest {
  private final PenstockProcesses processes = new PenstockProcesses();
  @TempDir Path dir;

  @AfterEach
  void stop() throws InterruptedException {
    processes.stopAll();
  }

  private Path config(Path database) throws Exception {
    Path file = dir.resolve("penstock.yaml");
    Files.writeString(
        file,
        """
        listen: 127.0.0.1:0
        storage: {path: "%s"}
        models:
          gpt-4o-mini:
            deployments:
              - {name: a, base_url: "http://127.0.0.1:9/v1", api_key: sk-a, rpm: 10, tpm: 1000}
        """
            .formatted(database));
    return file;
  }

  @Test
  void aCorruptDatabaseStopsTheStartWithOneClearLine() throws Exception {
    Path database = dir.resolve("penstock.db");
    Files.writeString(database, "this is not a SQLite database, just some bytes".repeat(100));

    PenstockProcesses.Child serve =
        processes.serve("--config", config(database).toString(), "--no-watch");
    String output = serve.awaitExit(PenstockProcesses.READY);

    assertThat(serve.process.exitValue()).isEqualTo(1);
    assertThat(output)
        .contains("penstock: cannot open the storage: Cannot open the database " + database)
        .doesNotContain("penstock gateway at")
        .doesNotContain("\tat ");
  }

  @Test
  void aDatabaseAnotherGatewayHoldsStopsTheSecondStart() throws Exception {
    Path database = dir.resolve("shared.db");
    Path file = config(database);
    PenstockProcesses.Child first = processes.serve("--config", file.toString(), "--no-watch");
    first.awaitBaseUrl("penstock gateway at", PenstockProcesses.READY);

    PenstockProcesses.Child second = processes.serve("--config", file.toString(), "--no-watch");
    String output = second.awaitExit(PenstockProcesses.READY);

    assertThat(second.process.exitValue()).isEqualTo(1);
    assertThat(output)
        .contains("penstock: cannot open the storage: Cannot open the database " + database)
        .doesNotContain("penstock gateway at")
        .doesNotContain("\tat ");
    assertThat(first.process.isAlive()).isTrue();
  }
}
