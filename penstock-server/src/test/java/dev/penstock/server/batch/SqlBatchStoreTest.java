package dev.penstock.server.batch;

import dev.penstock.server.tenant.SqliteStorage;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** The store contract on the embedded SQLite database. */
class SqlBatchStoreTest extends BatchStoreContractTest {
  @TempDir Path dir;
  private SqliteStorage storage;

  @Override
  protected BatchStore store() {
    if (storage == null) {
      storage = SqliteStorage.open(dir.resolve("penstock.db"));
    }
    return storage.batches();
  }

  @AfterEach
  void close() {
    if (storage != null) {
      storage.close();
    }
  }
}
