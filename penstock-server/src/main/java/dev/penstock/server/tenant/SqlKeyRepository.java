package dev.penstock.server.tenant;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Virtual keys in the {@code virtual_keys} table. Instants are stored as epoch milliseconds (what a
 * key's times need; finer parts are dropped); the models and metadata as JSON text, so that the
 * table keeps one row per key on SQLite and PostgreSQL alike. The metadata's pairs keep their order
 * (a JSON object's, read back into an ordered map).
 *
 * <p>Thread-safe: changes go through the writer connection, lookups through the reader.
 */
final class SqlKeyRepository implements KeyRepository {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<List<String>> MODELS = new TypeReference<>() {};
  private static final TypeReference<Map<String, String>> METADATA = new TypeReference<>() {};

  private static final String COLUMNS =
      "id, name, hash, suffix, models, rpm, tpm, max_priority, budget_usd_daily,"
          + " budget_usd_monthly, expires_at, metadata, created_at, revoked_at";

  /** The PostgreSQL channel key changes are announced on (payload: the key's id). */
  static final String CHANNEL = "penstock_keys";

  private final SqlDatabase writer;
  private final SqlDatabase reader;

  SqlKeyRepository(SqlDatabase writer, SqlDatabase reader) {
    this.writer = writer;
    this.reader = reader;
  }

  /**
   * {@inheritDoc}
   *
   * @throws StorageException when a key with the same id or hash is stored already
   */
  @Override
  public void insert(VirtualKey key) {
    String models = json(key.models());
    String metadata = json(key.metadata());
    writer.write(
        "storing key " + key.id(),
        connection -> {
          try (PreparedStatement insert =
              connection.prepareStatement(
                  "INSERT INTO virtual_keys ("
                      + COLUMNS
                      + ") VALUES ("
                      + "?, ".repeat(13)
                      + "?)")) {
            insert.setString(1, key.id());
            insert.setString(2, key.name());
            insert.setString(3, key.hash());
            insert.setString(4, key.suffix());
            insert.setString(5, models);
            insert.setLong(6, key.rpm());
            insert.setLong(7, key.tpm());
            insert.setString(8, key.maxPriority());
            insert.setDouble(9, key.budgetUsdDaily());
            insert.setDouble(10, key.budgetUsdMonthly());
            setMillis(insert, 11, key.expiresAt());
            insert.setString(12, metadata);
            setMillis(insert, 13, key.createdAt());
            setMillis(insert, 14, key.revokedAt());
            insert.executeUpdate();
            notifyChange(connection, key.id());
          } catch (SQLException e) {
            if (writer.dialect().isDuplicate(e)) {
              // The hash is not named: it identifies the secret key.
              throw new StorageException(
                  "Database "
                      + writer.databaseName()
                      + ": key "
                      + key.id()
                      + " not stored: a key with the same id or the same hash exists already",
                  e);
            }
            throw e;
          }
          return null;
        });
  }

  /**
   * {@inheritDoc}
   *
   * @throws StorageException when no key has that id
   */
  @Override
  public void update(VirtualKey key) {
    String models = json(key.models());
    String metadata = json(key.metadata());
    int updated =
        writer.write(
            "updating key " + key.id(),
            connection -> {
              try (PreparedStatement update =
                  connection.prepareStatement(
                      "UPDATE virtual_keys SET name = ?, models = ?, rpm = ?, tpm = ?,"
                          + " max_priority = ?, budget_usd_daily = ?, budget_usd_monthly = ?,"
                          + " expires_at = ?, metadata = ? WHERE id = ?")) {
                update.setString(1, key.name());
                update.setString(2, models);
                update.setLong(3, key.rpm());
                update.setLong(4, key.tpm());
                update.setString(5, key.maxPriority());
                update.setDouble(6, key.budgetUsdDaily());
                update.setDouble(7, key.budgetUsdMonthly());
                setMillis(update, 8, key.expiresAt());
                update.setString(9, metadata);
                update.setString(10, key.id());
                int n = update.executeUpdate();
                notifyChange(connection, key.id());
                return n;
              }
            });
    if (updated == 0) {
      throw new StorageException(
          "Database " + writer.databaseName() + ": no key " + key.id() + " to update");
    }
  }

  @Override
  public boolean revoke(String id, Instant at) {
    int revoked =
        writer.write(
            "revoking key " + id,
            connection -> {
              try (PreparedStatement update =
                  connection.prepareStatement(
                      "UPDATE virtual_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")) {
                update.setLong(1, at.toEpochMilli());
                update.setString(2, id);
                int n = update.executeUpdate();
                notifyChange(connection, id);
                return n;
              }
            });
    return revoked > 0;
  }

  /**
   * On PostgreSQL, tells every instance listening on {@link #CHANNEL} that the key {@code id}
   * changed: {@code pg_notify} in the transaction of the change, so it is delivered at its commit
   * (and not at all if it rolls back). The payload is the key's id, never its hash.
   */
  private void notifyChange(Connection connection, String id) throws SQLException {
    if (writer.dialect() != SqlDatabase.Dialect.POSTGRES) {
      return;
    }
    try (PreparedStatement notify = connection.prepareStatement("SELECT pg_notify(?, ?)")) {
      notify.setString(1, CHANNEL);
      notify.setString(2, id);
      notify.execute();
    }
  }

  @Override
  public Optional<VirtualKey> find(String id) {
    List<VirtualKey> found =
        reader.read(
            "reading key " + id,
            connection ->
                select(connection, "SELECT " + COLUMNS + " FROM virtual_keys WHERE id = ?", id));
    return found.stream().findFirst();
  }

  @Override
  public List<VirtualKey> all() {
    return reader.read(
        "reading the keys",
        connection ->
            select(
                connection,
                "SELECT " + COLUMNS + " FROM virtual_keys ORDER BY created_at, id",
                null));
  }

  private List<VirtualKey> select(Connection connection, String sql, @Nullable String id)
      throws SQLException {
    try (PreparedStatement query = connection.prepareStatement(sql)) {
      if (id != null) {
        query.setString(1, id);
      }
      List<VirtualKey> keys = new ArrayList<>();
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          keys.add(key(rows));
        }
      }
      return keys;
    }
  }

  private VirtualKey key(ResultSet row) throws SQLException {
    String id = row.getString("id");
    Instant createdAt = millis(row, "created_at");
    return new VirtualKey(
        id,
        row.getString("name"),
        row.getString("hash"),
        row.getString("suffix"),
        parse(id, "models", row.getString("models"), MODELS),
        row.getLong("rpm"),
        row.getLong("tpm"),
        row.getString("max_priority"),
        row.getDouble("budget_usd_daily"),
        row.getDouble("budget_usd_monthly"),
        millis(row, "expires_at"),
        parse(id, "metadata", row.getString("metadata"), METADATA),
        createdAt == null ? Instant.EPOCH : createdAt, // NOT NULL in the schema
        millis(row, "revoked_at"));
  }

  private static void setMillis(PreparedStatement statement, int index, @Nullable Instant at)
      throws SQLException {
    if (at == null) {
      statement.setNull(index, Types.BIGINT);
    } else {
      statement.setLong(index, at.toEpochMilli());
    }
  }

  private static @Nullable Instant millis(ResultSet row, String column) throws SQLException {
    long millis = row.getLong(column);
    return row.wasNull() ? null : Instant.ofEpochMilli(millis);
  }

  private static String json(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("lists and maps of strings always serialise", e);
    }
  }

  private <T> T parse(String id, String column, String text, TypeReference<T> type) {
    try {
      return JSON.readValue(text, type);
    } catch (JsonProcessingException e) {
      throw new StorageException(
          "Database "
              + reader.databaseName()
              + ": key "
              + id
              + " has unreadable "
              + column
              + " ("
              + e.getOriginalMessage()
              + ")",
          e);
    }
  }
}
