package dev.penstock.server.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.server.testing.PostgresDatabase;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Opening PostgreSQL storage: instances starting at once migrate once; a newer schema, an
 * unreachable server and a missing database are refused in words that never show the password; the
 * key secret is the same on every instance; key changes reach the other instances, also after the
 * listener lost its connection; closing leaves no listener thread behind.
 */
class PostgresStorageTest {
  private PostgresDatabase database;
  private final List<AutoCloseable> opened = new ArrayList<>();

  @BeforeEach
  void create() {
    database = PostgresDatabase.create();
  }

  @AfterEach
  void drop() throws Exception {
    try {
      for (AutoCloseable c : opened.reversed()) {
        c.close();
      }
    } finally {
      database.close();
    }
  }

  private PostgresStorage open() {
    PostgresStorage storage = database.open();
    opened.add(storage);
    return storage;
  }

  private List<Integer> versions() throws SQLException {
    List<Integer> versions = new ArrayList<>();
    try (Connection c = database.connect();
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT version FROM schema_version ORDER BY version")) {
      while (r.next()) {
        versions.add(r.getInt(1));
      }
    }
    return versions;
  }

  @Test
  void threeInstancesStartingAtOnceMigrateOnce() throws Exception {
    int instances = 3;
    CountDownLatch go = new CountDownLatch(1);
    try (ExecutorService starters = Executors.newFixedThreadPool(instances)) {
      List<Future<PostgresStorage>> started = new ArrayList<>();
      for (int i = 0; i < instances; i++) {
        started.add(
            starters.submit(
                () -> {
                  go.await();
                  return database.open();
                }));
      }
      go.countDown();
      List<Throwable> failures = new ArrayList<>();
      for (Future<PostgresStorage> f : started) {
        try {
          opened.add(f.get());
        } catch (java.util.concurrent.ExecutionException e) {
          failures.add(e.getCause());
        }
      }
      assertThat(failures).isEmpty();
    }
    assertThat(versions()).containsExactly(1, 2, 3);
    assertThat(Migrations.LATEST).isEqualTo(3);
    // And the schema works from every instance.
    PostgresStorage any = (PostgresStorage) opened.get(instances - 1);
    any.ledger().append(List.of(Ledgers.entry(Ledgers.MARCH_1, "k", "m", "d", 1, 0, 1, 0.5)));
    assertThat(((PostgresStorage) opened.get(0)).ledger().spendByKey(0)).containsEntry("k", 0.5);
  }

  @Test
  void aSchemaNewerThanThisBinaryIsRefused() throws Exception {
    open().close();
    try (Connection c = database.connect();
        Statement s = c.createStatement()) {
      s.execute("INSERT INTO schema_version (version, applied_at) VALUES (4, 'later')");
    }
    assertThatThrownBy(database::open)
        .isInstanceOf(StorageException.class)
        .hasMessage(
            "Cannot open the database PostgreSQL 127.0.0.1:5432/"
                + database.name()
                + ": its schema is version 4, newer than this Penstock knows (up to version 3). A"
                + " newer Penstock wrote it: run that one, or restore a backup from before the"
                + " upgrade.");
  }

  @Test
  void anUnreachableServerIsNamedWithoutThePassword() {
    assertThatThrownBy(
            () ->
                PostgresStorage.open(
                    PostgresUrl.parse("postgresql://ops:s3cret-pw@127.0.0.1:1/db")))
        .isInstanceOf(StorageException.class)
        .hasMessageStartingWith("Cannot reach PostgreSQL at 127.0.0.1:1/db: ")
        .hasMessageNotContaining("s3cret-pw")
        .satisfies(e -> assertThat(chain(e)).doesNotContain("s3cret-pw"));
  }

  @Test
  void aMissingDatabaseIsNamedWithoutThePassword() {
    String missing = database.name() + "_missing";
    assertThatThrownBy(
            () ->
                PostgresStorage.open(
                    PostgresUrl.parse("postgresql://postgres:s3cret-pw@127.0.0.1/" + missing)))
        .isInstanceOf(StorageException.class)
        .hasMessage(
            "Cannot open the database PostgreSQL 127.0.0.1:5432/"
                + missing
                + ": it does not exist (create it: CREATE DATABASE "
                + missing
                + ")")
        .satisfies(e -> assertThat(chain(e)).doesNotContain("s3cret-pw"));
  }

  /** Every message in {@code e}'s chain of causes. */
  private static String chain(Throwable e) {
    StringBuilder messages = new StringBuilder();
    for (Throwable c = e; c != null; c = c.getCause()) {
      messages.append(c).append('\n');
    }
    return messages.toString();
  }

  @Test
  void everyInstanceHashesKeysWithTheSameSecret() {
    PostgresStorage a = open();
    PostgresStorage b = open();
    byte[] secret = a.keySecret(null);
    assertThat(secret.length).isGreaterThanOrEqualTo(32);
    assertThat(b.keySecret("")).isEqualTo(secret);
    String fromEnvironment = "x".repeat(40);
    assertThat(b.keySecret(fromEnvironment))
        .isEqualTo(fromEnvironment.getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> a.keySecret("short")).isInstanceOf(IllegalArgumentException.class);
  }

  private static VirtualKey template(String name) {
    return new VirtualKey(
        "",
        name,
        "",
        "",
        List.of(),
        0,
        0,
        "high",
        0,
        0,
        null,
        Map.of(),
        java.time.Instant.EPOCH,
        null);
  }

  /** Polls (bounded) until {@code condition} holds; fails saying {@code what} otherwise. */
  private static void await(String what, Duration bound, BooleanSupplier condition) {
    long deadline = System.nanoTime() + bound.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + bound + ": " + what);
      }
      LockSupport.parkNanos(10_000_000);
    }
  }

  @Test
  void keyChangesReachTheOtherInstanceAlsoAfterItsListenerLostItsConnection() throws Exception {
    PostgresStorage a = open();
    PostgresStorage b = open();
    VirtualKeys onA = new VirtualKeys(a.keys(), a.keySecret(null), Clock.systemUTC());
    VirtualKeys onB = new VirtualKeys(b.keys(), b.keySecret(null), Clock.systemUTC());
    b.watchKeys(onB);
    VirtualKeys.Created created = onA.create(template("shared"));
    await(
        "B knows the new key",
        Duration.ofSeconds(5),
        () -> onB.authenticate(created.key()).isPresent());
    // A limit changed on A is B's within the bound too.
    onA.update(
        created.record().id(),
        k ->
            new VirtualKey(
                k.id(),
                "renamed",
                k.hash(),
                k.suffix(),
                k.models(),
                42,
                k.tpm(),
                k.maxPriority(),
                k.budgetUsdDaily(),
                k.budgetUsdMonthly(),
                k.expiresAt(),
                k.metadata(),
                k.createdAt(),
                k.revokedAt()));
    await(
        "B sees the new limit",
        Duration.ofSeconds(5),
        () -> onB.find(created.record().id()).map(VirtualKey::rpm).orElse(0L) == 42);
    assertThat(onB.find(created.record().id()).orElseThrow().name()).isEqualTo("renamed");
    onA.revoke(created.record().id());
    await(
        "B refuses the revoked key",
        Duration.ofSeconds(5),
        () -> onB.authenticate(created.key()).isEmpty());

    // The listener's connection dies; a key created meanwhile still arrives (the resync after
    // reconnecting, or the notification once listening again).
    try (Connection c = database.connect();
        Statement s = c.createStatement();
        ResultSet r =
            s.executeQuery(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"
                    + database.name()
                    + "' AND query LIKE 'LISTEN%'")) {
      assertThat(r.next()).as("the listener's connection").isTrue();
    }
    VirtualKeys.Created later = onA.create(template("later"));
    await(
        "B knows the key created while it reconnected",
        Duration.ofSeconds(10),
        () -> onB.authenticate(later.key()).isPresent());
  }

  @Test
  void closingStopsTheListenerThread() {
    long before = listeners();
    PostgresStorage storage = database.open();
    try {
      storage.watchKeys(
          new VirtualKeys(storage.keys(), storage.keySecret(null), Clock.systemUTC()));
      assertThat(listeners()).isEqualTo(before + 1);
    } finally {
      storage.close();
    }
    assertThat(listeners()).isEqualTo(before);
  }

  private static long listeners() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().equals("penstock-key-listener") && t.isAlive())
        .count();
  }
}
