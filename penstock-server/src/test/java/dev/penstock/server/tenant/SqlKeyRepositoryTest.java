package dev.penstock.server.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The key repository on SQLite; {@link PostgresKeyRepositoryTest} runs the same on PostgreSQL. */
class SqlKeyRepositoryTest {
  private static final Instant CREATED = Instant.parse("2025-03-01T10:00:00.123Z");

  @TempDir Path dir;
  private Storage storage;
  private KeyRepository keys;

  /** A new, empty storage. */
  protected Storage openStorage() {
    return SqliteStorage.open(dir.resolve("penstock.db"));
  }

  /** How the storage's messages name its database. */
  protected String databaseName(Storage opened) {
    return ((SqliteStorage) opened).file().toString();
  }

  /** After the storage is closed. */
  protected void cleanUp() {}

  @BeforeEach
  void open() {
    storage = openStorage();
    keys = storage.keys();
  }

  @AfterEach
  void close() {
    try {
      storage.close();
    } finally {
      cleanUp();
    }
  }

  /** A key with every field set. */
  static VirtualKey key(String id, String hash) {
    return new VirtualKey(
        id,
        "team " + id,
        hash,
        "Ab3x",
        List.of("gpt-4o", "gpt-4o-mini"),
        60,
        90_000,
        "normal",
        12.5,
        300.25,
        Instant.parse("2026-01-01T00:00:00Z"),
        Map.of("team", "search", "owner", "ana@example.com"),
        CREATED,
        null);
  }

  @Test
  void aKeyRoundTripsWithEveryField() {
    VirtualKey key = key("key_1", "hash-1");
    keys.insert(key);
    assertThat(keys.find("key_1")).contains(key);
    assertThat(keys.find("key_2")).isEmpty();
  }

  @Test
  void metadataKeepsTheOrderItWasGivenIn() {
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("zone", "eu");
    metadata.put("team", "ml");
    metadata.put("env", "prod");
    VirtualKey given = key("key_1", "hash-1");
    keys.insert(
        new VirtualKey(
            given.id(),
            given.name(),
            given.hash(),
            given.suffix(),
            given.models(),
            given.rpm(),
            given.tpm(),
            given.maxPriority(),
            given.budgetUsdDaily(),
            given.budgetUsdMonthly(),
            given.expiresAt(),
            metadata,
            given.createdAt(),
            given.revokedAt()));

    assertThat(keys.find("key_1").orElseThrow().metadata().keySet())
        .containsExactly("zone", "team", "env");
  }

  @Test
  void noExpiryNoModelsAndNoMetadataRoundTrip() {
    VirtualKey key =
        new VirtualKey(
            "key_1", "open", "hash-1", "Zz9q", List.of(), 0, 0, "high", 0, 0, null, Map.of(),
            CREATED, null);
    keys.insert(key);
    assertThat(keys.find("key_1")).contains(key);
  }

  @Test
  void updateReplacesThePolicyButNotTheIdentity() {
    keys.insert(key("key_1", "hash-1"));
    VirtualKey changed =
        new VirtualKey(
            "key_1",
            "renamed",
            "another-hash",
            "zzzz",
            List.of("o3"),
            10,
            20,
            "low",
            1.5,
            0,
            null,
            Map.of("cost_center", "42"),
            Instant.parse("2030-01-01T00:00:00Z"),
            Instant.parse("2030-01-01T00:00:00Z"));
    keys.update(changed);
    assertThat(keys.find("key_1"))
        .contains(
            new VirtualKey(
                "key_1",
                "renamed",
                "hash-1",
                "Ab3x",
                List.of("o3"),
                10,
                20,
                "low",
                1.5,
                0,
                null,
                Map.of("cost_center", "42"),
                CREATED,
                null));
  }

  @Test
  void updatingAnUnknownKeyIsRefused() {
    assertThatThrownBy(() -> keys.update(key("key_9", "hash-9")))
        .isInstanceOf(StorageException.class)
        .hasMessage("Database " + databaseName(storage) + ": no key key_9 to update");
  }

  @Test
  void revokeMarksALiveKeyOnce() {
    keys.insert(key("key_1", "hash-1"));
    Instant first = Instant.parse("2025-04-01T00:00:00Z");
    assertThat(keys.revoke("key_1", first)).isTrue();
    assertThat(keys.revoke("key_1", first.plusSeconds(60))).isFalse();
    assertThat(keys.revoke("key_9", first)).isFalse();
    VirtualKey revoked = keys.find("key_1").orElseThrow();
    assertThat(revoked.revokedAt()).isEqualTo(first);
    assertThat(revoked.liveAt(first.minusMillis(1))).isFalse();
  }

  @Test
  void allListsEveryKeyOldestFirstRevokedIncluded() {
    VirtualKey newest = withCreated(key("key_a", "hash-a"), CREATED.plusSeconds(2));
    VirtualKey oldest = withCreated(key("key_b", "hash-b"), CREATED);
    VirtualKey middle = withCreated(key("key_c", "hash-c"), CREATED.plusSeconds(1));
    keys.insert(newest);
    keys.insert(oldest);
    keys.insert(middle);
    keys.revoke("key_c", CREATED.plusSeconds(3));
    assertThat(keys.all()).extracting(VirtualKey::id).containsExactly("key_b", "key_c", "key_a");
  }

  @Test
  void aDuplicateHashIsRefusedWithoutNamingIt() {
    keys.insert(key("key_1", "hash-1"));
    assertThatThrownBy(() -> keys.insert(key("key_2", "hash-1")))
        .isInstanceOf(StorageException.class)
        .hasMessage(
            "Database "
                + databaseName(storage)
                + ": key key_2 not stored: a key with the same id or the same hash exists"
                + " already");
    assertThat(keys.all()).extracting(VirtualKey::id).containsExactly("key_1");
  }

  @Test
  void aDuplicateIdIsRefused() {
    keys.insert(key("key_1", "hash-1"));
    assertThatThrownBy(() -> keys.insert(key("key_1", "hash-2")))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("key key_1 not stored");
    assertThat(keys.find("key_1").orElseThrow().hash()).isEqualTo("hash-1");
  }

  private static VirtualKey withCreated(VirtualKey key, Instant createdAt) {
    return new VirtualKey(
        key.id(),
        key.name(),
        key.hash(),
        key.suffix(),
        key.models(),
        key.rpm(),
        key.tpm(),
        key.maxPriority(),
        key.budgetUsdDaily(),
        key.budgetUsdMonthly(),
        key.expiresAt(),
        key.metadata(),
        createdAt,
        key.revokedAt());
  }
}
