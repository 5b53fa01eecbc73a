package dev.penstock.server.tenant;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hears the key changes other instances make: one thread with a connection of its own {@code
 * LISTEN}ing on {@link SqlKeyRepository#CHANNEL}, where every key change is announced in the
 * transaction that makes it. Each notification reloads that key ({@link
 * Storage.KeyChanges#changed}); a revoked key is then refused on this instance too, well within a
 * second.
 *
 * <p>Notifications sent while no connection listens are lost, so after every (re)connect, and every
 * {@link #RESYNC} as a backstop, every key is read again ({@link Storage.KeyChanges#resync}). A
 * lost connection is retried every second, logged once until it is back.
 *
 * <p>{@link #close} stops the thread and waits for it (at most a few hundred milliseconds: it wakes
 * every {@link #POLL_MILLIS}).
 */
final class PostgresKeyListener implements AutoCloseable {
  /** How often every key is read again even when no notification came. */
  static final Duration RESYNC = Duration.ofSeconds(30);

  /** How long one wait for notifications lasts, so that closing is noticed soon. */
  private static final int POLL_MILLIS = 250;

  private static final Logger LOG = LoggerFactory.getLogger(PostgresKeyListener.class);

  private final PooledPostgres database;
  private final Storage.KeyChanges changes;
  private final CountDownLatch stop = new CountDownLatch(1);
  private final Thread thread;

  PostgresKeyListener(PooledPostgres database, Storage.KeyChanges changes) {
    this.database = database;
    this.changes = changes;
    this.thread =
        Thread.ofPlatform().name("penstock-key-listener").daemon().unstarted(this::listen);
  }

  void start() {
    thread.start();
  }

  private boolean stopping() {
    return stop.getCount() == 0;
  }

  private void listen() {
    boolean lost = false;
    while (!stopping()) {
      try (Connection connection = database.connectDirectly()) {
        connection.setAutoCommit(true);
        try (Statement statement = connection.createStatement()) {
          statement.execute("LISTEN " + SqlKeyRepository.CHANNEL);
        }
        changes.resync(); // what was changed while no one listened
        if (lost) {
          LOG.info("key changes: listening to {} again", database.databaseName());
          lost = false;
        }
        long lastResync = System.nanoTime();
        while (!stopping()) {
          for (String keyId : notifications(connection)) {
            changes.changed(keyId);
          }
          if (System.nanoTime() - lastResync >= RESYNC.toNanos()) {
            changes.resync();
            lastResync = System.nanoTime();
          }
        }
      } catch (SQLException | RuntimeException e) {
        if (stopping()) {
          return;
        }
        if (!lost) {
          LOG.warn(
              "key changes: lost {} ({}); other instances' key changes arrive when it is back"
                  + " (trying every second)",
              database.databaseName(),
              e.getMessage());
          lost = true;
        }
        try {
          if (stop.await(1, TimeUnit.SECONDS)) {
            return;
          }
        } catch (InterruptedException interrupted) {
          return;
        }
      }
    }
  }

  /**
   * The payloads of the notifications that arrive within {@link #POLL_MILLIS}: pgjdbc's {@code
   * PGConnection.getNotifications(int)}, called reflectively because pgjdbc's classes carry Checker
   * Framework annotations this build does not have (compiling against them warns, and warnings fail
   * the build).
   */
  private static java.util.List<String> notifications(Connection connection) throws SQLException {
    try {
      Class<?> pgConnection = Class.forName("org.postgresql.PGConnection");
      Object pg = connection.unwrap(pgConnection);
      Object[] notifications =
          (Object[]) pgConnection.getMethod("getNotifications", int.class).invoke(pg, POLL_MILLIS);
      if (notifications == null || notifications.length == 0) {
        return java.util.List.of();
      }
      Method parameter = Class.forName("org.postgresql.PGNotification").getMethod("getParameter");
      java.util.List<String> payloads = new java.util.ArrayList<>(notifications.length);
      for (Object notification : notifications) {
        payloads.add(String.valueOf(parameter.invoke(notification)));
      }
      return payloads;
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof SQLException sql) {
        throw sql;
      }
      throw new IllegalStateException("pgjdbc's getNotifications failed", e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("pgjdbc has no PGConnection.getNotifications(int)", e);
    }
  }

  @Override
  public void close() {
    stop.countDown();
    try {
      thread.join(Duration.ofSeconds(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
