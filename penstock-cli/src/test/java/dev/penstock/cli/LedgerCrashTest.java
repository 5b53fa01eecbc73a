package dev.penstock.cli;

import static dev.penstock.cli.PenstockProcesses.EXIT;
import static dev.penstock.cli.PenstockProcesses.READY;
import static dev.penstock.cli.PenstockProcesses.REQUEST;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.penstock.server.tenant.LedgerRepository;
import dev.penstock.server.tenant.LedgerWriter;
import dev.penstock.server.tenant.SqliteStorage;
import dev.penstock.server.tenant.UsageRow;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The usage ledger across the ends a gateway meets in production, with real processes and real
 * signals: {@code kill -9} under load loses at most the last commit group and never part of one,
 * and does not stop the next start; {@code SIGTERM} loses nothing. The database is read directly
 * afterwards, not through the admin API (whose report would flush the writer first).
 */
@Tag("e2e")
class LedgerCrashTest {
  /** Client threads, each with one request in flight at a time. */
  private static final int CLIENTS = 8;

  /** Answers (200) after which the gateway is killed, or stopped. */
  private static final int ANSWERS_BEFORE_KILL = 300;

  private static final int ANSWERS_BEFORE_SIGTERM = 200;

  private final PenstockProcesses processes = new PenstockProcesses();

  @TempDir Path dir;

  @AfterEach
  void stop() throws InterruptedException {
    processes.stopAll();
  }

  /** What the clients saw, collected from their threads. */
  private static final class Load {
    /** The x-request-id of every 200 answer received. */
    final Set<String> answered = ConcurrentHashMap.newKeySet();

    /** Anything that should not have happened: an error answer, a failure before the end. */
    final Queue<String> wrong = new ConcurrentLinkedQueue<>();

    /** Set just before the gateway is signalled: from then on, failing requests are expected. */
    final AtomicBoolean ending = new AtomicBoolean();

    final CountDownLatch enough;

    Load(int answers) {
      enough = new CountDownLatch(answers);
    }
  }

  /**
   * Sends chat completions one after another until one fails once the gateway is ending: a refused
   * or cut connection, or (while draining) {@code 503 shutting_down}. Anything else that is not a
   * 200 is recorded as wrong, and ends this client.
   */
  private static void client(HttpClient http, TenantGateway gateway, String key, Load load) {
    while (true) {
      HttpResponse<String> answer;
      try {
        answer = http.send(gateway.chat(key), HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        if (!load.ending.get()) {
          load.wrong.add("request failed before the end: " + e);
        }
        return;
      } catch (InterruptedException e) {
        load.wrong.add("client interrupted");
        return;
      }
      String id = answer.headers().firstValue("x-request-id").orElse("(no x-request-id)");
      if (answer.statusCode() == 200) {
        load.answered.add(id);
        load.enough.countDown();
        continue;
      }
      boolean drained =
          load.ending.get()
              && answer.statusCode() == 503
              && answer.body().contains("shutting_down");
      if (!drained) {
        load.wrong.add(answer.statusCode() + " for " + id + ": " + answer.body());
      }
      return;
    }
  }

  /**
   * Starts {@link #CLIENTS} clients, waits (bounded) until {@code load} has its answers, then runs
   * {@code end} on the gateway and waits (bounded) for every client to stop.
   */
  private static void runLoad(
      TenantGateway gateway, String key, Load load, ThrowingConsumer<TenantGateway> end)
      throws Exception {
    boolean reached;
    try (HttpClient http = TenantGateway.http()) {
      ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
      try {
        for (int i = 0; i < CLIENTS; i++) {
          clients.execute(() -> client(http, gateway, key, load));
        }
        reached = load.enough.await(READY.toSeconds(), TimeUnit.SECONDS);
        load.ending.set(true);
        end.accept(gateway);
        clients.shutdown();
        // Once the gateway is gone every request fails at once; REQUEST bounds one in any case.
        assertThat(clients.awaitTermination(REQUEST.toSeconds() + 10, TimeUnit.SECONDS))
            .as("every client stopped")
            .isTrue();
      } finally {
        clients.shutdownNow();
      }
    }
    assertThat(reached)
        .as("%d answers within %s; %d came", load.enough.getCount(), READY, load.answered.size())
        .isTrue();
    assertThat(load.wrong).as("what the clients should not have seen").isEmpty();
  }

  @FunctionalInterface
  private interface ThrowingConsumer<T> {
    void accept(T t) throws Exception;
  }

  /** One ledger row, as stored. */
  private record LedgerRow(
      long timeMillis,
      String requestId,
      String keyId,
      String model,
      String deployment,
      int status,
      long inputTokens,
      long cachedTokens,
      long outputTokens,
      double costUsd) {}

  /** Sums of a day, key, model and deployment: a row of {@code usage_daily}, or ledger rows. */
  private record Sums(
      long requests, long inputTokens, long cachedTokens, long outputTokens, double costUsd) {
    Sums plus(LedgerRow row) {
      return new Sums(
          requests + 1,
          inputTokens + row.inputTokens(),
          cachedTokens + row.cachedTokens(),
          outputTokens + row.outputTokens(),
          costUsd + row.costUsd());
    }
  }

  private static Connection sqlite(Path database) throws SQLException {
    return DriverManager.getConnection("jdbc:sqlite:" + database);
  }

  private static List<LedgerRow> ledger(Path database) throws SQLException {
    List<LedgerRow> rows = new ArrayList<>();
    try (Connection db = sqlite(database);
        Statement query = db.createStatement();
        ResultSet result =
            query.executeQuery(
                "SELECT time_ms, request_id, key_id, model, deployment, status, input_tokens,"
                    + " cached_tokens, output_tokens, cost_usd FROM ledger ORDER BY id")) {
      while (result.next()) {
        rows.add(
            new LedgerRow(
                result.getLong(1),
                result.getString(2),
                result.getString(3),
                result.getString(4),
                result.getString(5),
                result.getInt(6),
                result.getLong(7),
                result.getLong(8),
                result.getLong(9),
                result.getDouble(10)));
      }
    }
    return rows;
  }

  private static Map<String, Sums> rollup(Path database) throws SQLException {
    Map<String, Sums> rollup = new TreeMap<>();
    try (Connection db = sqlite(database);
        Statement query = db.createStatement();
        ResultSet result =
            query.executeQuery(
                "SELECT day, key_id, model, deployment, requests, input_tokens, cached_tokens,"
                    + " output_tokens, cost_usd FROM usage_daily")) {
      while (result.next()) {
        rollup.put(
            String.join(
                " | ",
                result.getString(1),
                result.getString(2),
                result.getString(3),
                result.getString(4)),
            new Sums(
                result.getLong(5),
                result.getLong(6),
                result.getLong(7),
                result.getLong(8),
                result.getDouble(9)));
      }
    }
    return rollup;
  }

  /** The rollup's rows as the ledger's rows add up: what {@code usage_daily} must hold. */
  private static Map<String, Sums> summed(List<LedgerRow> rows) {
    Map<String, Sums> sums = new TreeMap<>();
    for (LedgerRow row : rows) {
      String day = LocalDate.ofEpochDay(Math.floorDiv(row.timeMillis(), 86_400_000L)).toString();
      sums.merge(
          String.join(" | ", day, row.keyId(), row.model(), row.deployment()),
          new Sums(0, 0, 0, 0, 0).plus(row),
          (a, b) ->
              new Sums(
                  a.requests() + b.requests(),
                  a.inputTokens() + b.inputTokens(),
                  a.cachedTokens() + b.cachedTokens(),
                  a.outputTokens() + b.outputTokens(),
                  a.costUsd() + b.costUsd()));
    }
    return sums;
  }

  /**
   * The rollup holds exactly the sums of the ledger's rows: both are written in one transaction.
   */
  private static void assertRollupMatches(Path database, List<LedgerRow> rows) throws Exception {
    Map<String, Sums> rollup = rollup(database);
    Map<String, Sums> expected = summed(rows);
    assertThat(rollup.keySet()).as("usage_daily's groups").isEqualTo(expected.keySet());
    expected.forEach(
        (group, sums) -> {
          Sums stored = rollup.get(group);
          assertThat(stored.requests()).as("requests of %s", group).isEqualTo(sums.requests());
          assertThat(stored.inputTokens()).as("input of %s", group).isEqualTo(sums.inputTokens());
          assertThat(stored.cachedTokens())
              .as("cached of %s", group)
              .isEqualTo(sums.cachedTokens());
          assertThat(stored.outputTokens())
              .as("output of %s", group)
              .isEqualTo(sums.outputTokens());
          assertThat(stored.costUsd())
              .as("cost of %s", group)
              .isCloseTo(sums.costUsd(), within(1e-9));
        });
  }

  /** Every row whole: what a torn transaction would leave half-written. */
  private static void assertComplete(
      List<LedgerRow> rows, String keyId, long notBeforeMillis, long notAfterMillis) {
    for (LedgerRow row : rows) {
      assertThat(row.requestId()).as("request_id of %s", row).isNotBlank();
      assertThat(row.keyId()).as("key_id of %s", row).isEqualTo(keyId);
      assertThat(row.model()).as("model of %s", row).isEqualTo(TenantGateway.MODEL);
      assertThat(row.deployment()).as("deployment of %s", row).isEqualTo("a");
      assertThat(row.status()).as("status of %s", row).isEqualTo(200);
      assertThat(row.timeMillis()).as("time of %s", row).isBetween(notBeforeMillis, notAfterMillis);
      assertThat(row.outputTokens()).as("output tokens of %s", row).isPositive();
      assertThat(row.costUsd()).as("cost of %s", row).isPositive();
    }
  }

  /**
   * SIGKILL while 8 clients keep the gateway busy: the database opens again (the lock died with the
   * process; its file stays), every row is whole, the rollup matches the rows, what was answered
   * and is missing is at most one group, rows for requests never answered are at most those in
   * flight, and a new gateway on the same database starts and knows the key.
   */
  @Test
  void killMinus9UnderLoadLosesAtMostTheLastGroupAndNeverPartOfOne() throws Exception {
    long startMillis = System.currentTimeMillis();
    TenantGateway gateway = TenantGateway.start(processes, dir);
    TenantGateway.Key key;
    try (HttpClient http = TenantGateway.http()) {
      key = gateway.createKey(http, "load");
    }
    Load load = new Load(ANSWERS_BEFORE_KILL);

    runLoad(
        gateway,
        key.secret(),
        load,
        g -> {
          g.child().process.destroyForcibly(); // SIGKILL
          assertThat(g.child().process.waitFor(EXIT.toSeconds(), TimeUnit.SECONDS))
              .as("the gateway died")
              .isTrue();
        });
    long endMillis = System.currentTimeMillis();
    assertThat(gateway.child().process.exitValue()).as("killed by SIGKILL").isEqualTo(128 + 9);

    Path lockFile = gateway.database().resolveSibling("penstock.db.lock");
    assertThat(lockFile).as("the lock file the killed gateway left").exists();
    long reported;
    // Opens as the gateway does: the lock, a write transaction, PRAGMA quick_check.
    try (SqliteStorage storage = SqliteStorage.open(gateway.database())) {
      reported =
          storage.ledger().report(0, endMillis + 1, LedgerRepository.GroupBy.KEY).stream()
              .filter(row -> row.group().equals(key.id()))
              .mapToLong(UsageRow::requests)
              .sum();
    }
    List<LedgerRow> rows = ledger(gateway.database());
    assertComplete(rows, key.id(), startMillis, endMillis);
    assertRollupMatches(gateway.database(), rows);
    Set<String> stored = rows.stream().map(LedgerRow::requestId).collect(Collectors.toSet());
    assertThat(stored).as("distinct request ids").hasSize(rows.size());
    assertThat(reported).as("the report over the recovered database").isEqualTo(rows.size());

    Set<String> missing = difference(load.answered, stored);
    Set<String> unanswered = difference(stored, load.answered);
    System.out.printf(
        "LedgerCrashTest kill -9: %d answered (200) before the kill, %d ledger rows;"
            + " answered but missing: %d; rows never answered (in flight at the kill): %d%n",
        load.answered.size(), rows.size(), missing.size(), unanswered.size());
    assertThat(missing.size())
        .as("answered requests missing from the ledger: at most one commit group")
        .isLessThanOrEqualTo(LedgerWriter.DEFAULT_MAX_GROUP_SIZE);
    assertThat(unanswered.size())
        .as("rows whose answer no client got: at most one request in flight per client")
        .isLessThanOrEqualTo(CLIENTS);

    // The stale lock file does not block the next start, and the key is still there.
    TenantGateway again = TenantGateway.restart(processes, gateway.config(), gateway.database());
    try (HttpClient http = TenantGateway.http()) {
      HttpResponse<String> served =
          http.send(again.chat(key.secret()), HttpResponse.BodyHandlers.ofString());
      assertThat(served.statusCode()).as(served.body()).isEqualTo(200);
      HttpResponse<String> refused =
          http.send(again.chat("pk-not-a-key"), HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).as("a wrong key after the restart").isEqualTo(401);
    }
  }

  /**
   * SIGTERM with 8 clients still sending: the requests in flight are answered, later ones refused
   * ({@code 503 shutting_down} or a closed port), and the ledger holds exactly one row per answered
   * request — the writer's last group committed before the process exits.
   */
  @Test
  void sigtermUnderLoadLosesNothing() throws Exception {
    long startMillis = System.currentTimeMillis();
    TenantGateway gateway = TenantGateway.start(processes, dir);
    TenantGateway.Key key;
    try (HttpClient http = TenantGateway.http()) {
      key = gateway.createKey(http, "load");
    }
    Load load = new Load(ANSWERS_BEFORE_SIGTERM);
    List<String> output = new ArrayList<>();

    runLoad(
        gateway,
        key.secret(),
        load,
        g -> {
          PenstockProcesses.signal(g.child(), "TERM");
          output.add(g.child().awaitExit(EXIT));
        });
    long endMillis = System.currentTimeMillis();

    assertThat(output.getFirst()).doesNotContain("could not be written", "ERROR");
    List<LedgerRow> rows = ledger(gateway.database());
    assertComplete(rows, key.id(), startMillis, endMillis);
    assertRollupMatches(gateway.database(), rows);
    List<String> ids = rows.stream().map(LedgerRow::requestId).toList();
    System.out.printf(
        "LedgerCrashTest SIGTERM: %d answered (200), %d ledger rows%n",
        load.answered.size(), rows.size());
    assertThat(ids).as("request ids in the ledger").doesNotHaveDuplicates();
    assertThat(new HashSet<>(ids))
        .as("the ledger's request ids: exactly those answered")
        .isEqualTo(load.answered);
  }

  private static Set<String> difference(Set<String> from, Set<String> without) {
    return from.stream().filter(Predicate.not(without::contains)).collect(Collectors.toSet());
  }
}
