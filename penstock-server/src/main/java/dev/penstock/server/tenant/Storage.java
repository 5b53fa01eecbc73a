package dev.penstock.server.tenant;

import dev.penstock.server.batch.BatchStore;
import dev.penstock.server.batch.FileStore;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.config.Secret;
import org.jspecify.annotations.Nullable;

/**
 * Where a gateway keeps what must outlive it: virtual keys, the usage ledger, the Batch API's
 * batches, lines and files. One node uses the embedded SQLite database ({@link SqliteStorage});
 * cluster mode uses PostgreSQL ({@link PostgresStorage}), shared by every instance. The
 * repositories are the same interfaces either way; what differs for the callers is said by {@link
 * #shared()} and handled by {@link #watchKeys}.
 *
 * <p>Thread-safe. {@link #close} releases everything (connections, threads); the repositories fail
 * after it.
 */
public sealed interface Storage extends AutoCloseable permits SqliteStorage, PostgresStorage {

  /** Hears of key changes other instances made (cluster mode). */
  interface KeyChanges {
    /** The key {@code keyId} was created, changed or revoked: read it again. */
    void changed(String keyId);

    /** Changes may have been missed (a lost connection, or as a backstop): read every key again. */
    void resync();
  }

  /**
   * Opens the storage {@code tenancy} configures: PostgreSQL when {@code storage.postgres_url} is
   * set, else the embedded database at {@code storage.path}. Brings the schema up to date.
   *
   * @throws StorageException when it cannot be used; the message says why and names the database
   *     (never a password)
   */
  static Storage open(GatewayConfig.Tenancy tenancy) {
    Secret url = tenancy.postgresUrl();
    return url == null
        ? SqliteStorage.open(tenancy.storagePath())
        : PostgresStorage.open(PostgresUrl.parse(url.reveal()));
  }

  /** The virtual keys. */
  KeyRepository keys();

  /** The usage ledger; write to it through a {@link LedgerWriter}. */
  LedgerRepository ledger();

  /** Files' metadata, batches and their lines (the Batch API). */
  BatchStore batches();

  /** The bytes of the Batch API's files. */
  FileStore files();

  /**
   * The storage for logs and errors: {@code SQLite /abs/path.db} or {@code PostgreSQL
   * host:port/db}; never a password.
   */
  String describe();

  /**
   * Whether other gateway instances use this storage too (PostgreSQL): then nothing in it belongs
   * to this instance alone — not the claims of batch lines (another instance's are live), not the
   * keys (another instance changes them).
   */
  boolean shared();

  /**
   * The secret virtual keys are hashed with, the same on every instance that shares this storage:
   * {@code fromEnvironment} ({@code PENSTOCK_KEY_SECRET}) when set (at least 32 characters), else
   * one generated once and kept by the storage.
   */
  byte[] keySecret(@Nullable String fromEnvironment);

  /**
   * Tells {@code changes} of the key changes other instances make, within about a second, until
   * {@link #close}; does nothing where there are no other instances. Call it once.
   */
  void watchKeys(KeyChanges changes);

  @Override
  void close();
}
