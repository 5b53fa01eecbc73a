package dev.penstock.server.batch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.penstock.server.tenant.SqlDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The {@link BatchStore} in SQL (schema {@code V3__batches.sql}), on the embedded SQLite database
 * or on PostgreSQL shared by several instances: changes through the writer, reads through the
 * reader, each method one transaction.
 *
 * <p>On SQLite a write transaction holds the whole database, so reading a row and then changing it
 * is safe. On PostgreSQL, where other instances write at the same time, the rows a change depends
 * on are locked as they are read ({@link SqlDatabase.Dialect#forUpdate}), claims skip the lines
 * another instance is locking ({@code FOR UPDATE SKIP LOCKED}), counters are changed by what an
 * update changed, and new rows take their {@code seq} from a sequence.
 *
 * <p>A batch's line counts and usage are counters in its row, changed in the same transaction as
 * the lines, so that {@link #batch} reads one row however many lines the batch has. Lists are
 * ordered by {@code seq}, the insertion order (ids are random), newest first.
 *
 * <p>Thread-safe: the connections serialise their transactions.
 */
public final class SqlBatchStore implements BatchStore {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<Map<String, String>> METADATA = new TypeReference<>() {};
  private static final TypeReference<List<BatchRecord.BatchError>> ERRORS =
      new TypeReference<>() {};

  private static final String FILE_COLUMNS =
      "id, owner_key_id, filename, purpose, bytes, created_at";

  private static final String BATCH_COLUMNS =
      "id, owner_key_id, endpoint, model, input_file_id, completion_window, status, metadata,"
          + " errors, output_file_id, error_file_id, created_at, in_progress_at, expires_at,"
          + " finalizing_at, completed_at, failed_at, expired_at, cancelling_at, cancelled_at,"
          + " n_pending, n_claimed, n_done, n_failed, input_tokens, cached_tokens, output_tokens,"
          + " reasoning_tokens";

  private static final String LINE_COLUMNS = "line_index, custom_id, body, attempts";

  private final SqlDatabase writer;
  private final SqlDatabase reader;

  /** A store on a storage's database (see {@code Storage.batches()}). */
  public SqlBatchStore(SqlDatabase writer, SqlDatabase reader) {
    this.writer = writer;
    this.reader = reader;
  }

  // ---- files ----

  @Override
  public void insertFile(FileRecord file) {
    writer.write(
        "storing the file " + file.id(),
        c -> {
          upsertFile(c, file);
          return null;
        });
  }

  /**
   * The next {@code seq} of {@code table} (files, batches): on SQLite one more than the largest,
   * read in the write transaction that holds the database; on PostgreSQL, where two instances
   * insert at once, from the table's sequence.
   */
  private String nextSeq(String table) {
    return writer.dialect() == SqlDatabase.Dialect.POSTGRES
        ? "nextval('" + table + "_seq')"
        : "(SELECT COALESCE(MAX(seq), 0) + 1 FROM " + table + ")";
  }

  private void upsertFile(Connection c, FileRecord file) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "INSERT INTO files (id, seq, owner_key_id, filename, purpose, bytes, created_at,"
                + " deleted) VALUES (?, "
                + nextSeq("files")
                + ", ?, ?, ?, ?, ?, 0) ON CONFLICT (id) DO UPDATE SET owner_key_id ="
                + " excluded.owner_key_id, filename = excluded.filename, purpose ="
                + " excluded.purpose, bytes = excluded.bytes, created_at = excluded.created_at,"
                + " deleted = 0")) {
      s.setString(1, file.id());
      setNullable(s, 2, file.ownerKeyId());
      s.setString(3, file.filename());
      s.setString(4, file.purpose());
      s.setLong(5, file.bytes());
      s.setLong(6, file.createdAt());
      s.executeUpdate();
    }
  }

  @Override
  public Optional<FileRecord> file(String id) {
    return reader.read(
        "reading the file " + id,
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT " + FILE_COLUMNS + " FROM files WHERE id = ? AND deleted = 0")) {
            s.setString(1, id);
            try (ResultSet r = s.executeQuery()) {
              return r.next() ? Optional.of(fileOf(r)) : Optional.<FileRecord>empty();
            }
          }
        });
  }

  @Override
  public List<FileRecord> files(
      @Nullable String ownerKeyId, @Nullable String purpose, @Nullable String after, int limit) {
    Map<String, @Nullable String> equal = new java.util.LinkedHashMap<>();
    equal.put("owner_key_id", ownerKeyId);
    equal.put("purpose", purpose);
    return newestFirst(
        "listing files",
        "files",
        FILE_COLUMNS,
        "deleted = 0",
        equal,
        after,
        limit,
        SqlBatchStore::fileOf);
  }

  /** Maps the current row of a result. */
  @FunctionalInterface
  private interface Row<T> {
    T of(ResultSet r) throws SQLException;
  }

  /** Every row a statement yields, mapped. */
  private static <T> List<T> rows(PreparedStatement s, Row<T> row) throws SQLException {
    List<T> out = new ArrayList<>();
    try (ResultSet r = s.executeQuery()) {
      while (r.next()) {
        out.add(row.of(r));
      }
    }
    return out;
  }

  /**
   * A page of {@code table} newest first: rows matching {@code where} and each non-null value of
   * {@code equal}, inserted before the row {@code after} names (when given), at most {@code limit}.
   */
  private <T> List<T> newestFirst(
      String what,
      String table,
      String columns,
      String where,
      Map<String, @Nullable String> equal,
      @Nullable String after,
      int limit,
      Row<T> row) {
    StringBuilder sql =
        new StringBuilder("SELECT " + columns + " FROM " + table + " WHERE " + where);
    List<String> args = new ArrayList<>();
    equal.forEach(
        (column, value) -> {
          if (value != null) {
            sql.append(" AND ").append(column).append(" = ?");
            args.add(value);
          }
        });
    if (after != null) {
      sql.append(" AND seq < (SELECT seq FROM ").append(table).append(" WHERE id = ?)");
      args.add(after);
    }
    sql.append(" ORDER BY seq DESC LIMIT ?");
    return reader.read(
        what,
        c -> {
          try (PreparedStatement s = c.prepareStatement(sql.toString())) {
            int i = 1;
            for (String arg : args) {
              s.setString(i++, arg);
            }
            s.setInt(i, Math.max(0, limit));
            return rows(s, row);
          }
        });
  }

  @Override
  public boolean deleteFile(String id) {
    return writer.write(
        "deleting the file " + id,
        c -> {
          try (PreparedStatement s =
              c.prepareStatement("UPDATE files SET deleted = 1 WHERE id = ? AND deleted = 0")) {
            s.setString(1, id);
            return s.executeUpdate() == 1;
          }
        });
  }

  private static FileRecord fileOf(ResultSet r) throws SQLException {
    return new FileRecord(
        r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getLong(5), r.getLong(6));
  }

  // ---- batches ----

  @Override
  public void insertBatch(BatchRecord b) {
    writer.write(
        "storing the batch " + b.id(),
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "INSERT INTO batches (id, seq, owner_key_id, endpoint, model, input_file_id,"
                      + " completion_window, status, metadata, errors, output_file_id,"
                      + " error_file_id, created_at, in_progress_at, expires_at, finalizing_at,"
                      + " completed_at, failed_at, expired_at, cancelling_at, cancelled_at,"
                      + " n_pending, n_claimed, n_done, n_failed, input_tokens, cached_tokens,"
                      + " output_tokens, reasoning_tokens) VALUES (?, "
                      + nextSeq("batches")
                      + ", ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0,"
                      + " 0, 0, 0)")) {
            s.setString(1, b.id());
            setNullable(s, 2, b.ownerKeyId());
            s.setString(3, b.endpoint());
            s.setString(4, b.model());
            s.setString(5, b.inputFileId());
            s.setString(6, b.completionWindow());
            s.setString(7, b.status().wireName());
            s.setString(8, json(b.metadata()));
            s.setString(9, json(b.errors()));
            setNullable(s, 10, b.outputFileId());
            setNullable(s, 11, b.errorFileId());
            s.setLong(12, b.createdAt());
            s.setLong(13, b.inProgressAt());
            s.setLong(14, b.expiresAt());
            s.setLong(15, b.finalizingAt());
            s.setLong(16, b.completedAt());
            s.setLong(17, b.failedAt());
            s.setLong(18, b.expiredAt());
            s.setLong(19, b.cancellingAt());
            s.setLong(20, b.cancelledAt());
            s.executeUpdate();
          }
          return null;
        });
  }

  @Override
  public boolean startBatch(
      String batchId, String model, Iterable<BatchLine> lines, long atSeconds) {
    return writer.write(
        "storing the lines of the batch " + batchId,
        c -> {
          if (!BatchStatus.VALIDATING.equals(statusOf(c, batchId))) {
            return false;
          }
          int count = 0;
          try (PreparedStatement s =
              c.prepareStatement(
                  "INSERT INTO batch_lines (batch_id, line_index, custom_id, body, state,"
                      + " claim_token, claim_until, not_before, attempts, result, input_tokens,"
                      + " cached_tokens, output_tokens, reasoning_tokens) VALUES (?, ?, ?, ?,"
                      + " 'pending', NULL, 0, 0, 0, NULL, 0, 0, 0, 0)")) {
            for (BatchLine line : lines) {
              s.setString(1, batchId);
              s.setInt(2, line.index());
              s.setString(3, line.customId());
              s.setString(4, line.body());
              s.addBatch();
              count++;
              if (count % 500 == 0) {
                s.executeBatch();
              }
            }
            s.executeBatch();
          }
          try (PreparedStatement s =
              c.prepareStatement(
                  "UPDATE batches SET status = 'in_progress', model = ?, in_progress_at = ?,"
                      + " n_pending = ? WHERE id = ?")) {
            s.setString(1, model);
            s.setLong(2, atSeconds);
            s.setInt(3, count);
            s.setString(4, batchId);
            s.executeUpdate();
          }
          return true;
        });
  }

  @Override
  public boolean failValidation(
      String batchId, List<BatchRecord.BatchError> errors, long atSeconds) {
    return writer.write(
        "failing the batch " + batchId,
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "UPDATE batches SET status = 'failed', errors = ?, failed_at = ? WHERE id = ?"
                      + " AND status = 'validating'")) {
            s.setString(1, json(errors));
            s.setLong(2, atSeconds);
            s.setString(3, batchId);
            return s.executeUpdate() == 1;
          }
        });
  }

  @Override
  public Optional<BatchRecord> batch(String batchId) {
    return reader.read(
        "reading the batch " + batchId,
        c -> {
          try (PreparedStatement s =
              c.prepareStatement("SELECT " + BATCH_COLUMNS + " FROM batches WHERE id = ?")) {
            s.setString(1, batchId);
            try (ResultSet r = s.executeQuery()) {
              return r.next() ? Optional.of(batchOf(r)) : Optional.<BatchRecord>empty();
            }
          }
        });
  }

  @Override
  public List<BatchRecord> batches(@Nullable String ownerKeyId, @Nullable String after, int limit) {
    Map<String, @Nullable String> equal = new java.util.LinkedHashMap<>();
    equal.put("owner_key_id", ownerKeyId);
    return newestFirst(
        "listing batches",
        "batches",
        BATCH_COLUMNS,
        "1 = 1",
        equal,
        after,
        limit,
        SqlBatchStore::batchOf);
  }

  @Override
  public List<BatchRecord> unfinished() {
    return reader.read(
        "listing unfinished batches",
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT "
                      + BATCH_COLUMNS
                      + " FROM batches WHERE status IN ('validating', 'in_progress',"
                      + " 'cancelling', 'finalizing') ORDER BY seq")) {
            return rows(s, SqlBatchStore::batchOf);
          }
        });
  }

  @Override
  public boolean transition(String batchId, BatchStatus from, BatchStatus to, long atSeconds) {
    String column = eventColumn(to);
    String sql =
        "UPDATE batches SET status = ?"
            + (column == null ? "" : ", " + column + " = ?")
            + " WHERE id = ? AND status = ?";
    return writer.write(
        "moving the batch " + batchId + " to " + to.wireName(),
        c -> {
          try (PreparedStatement s = c.prepareStatement(sql)) {
            int i = 1;
            s.setString(i++, to.wireName());
            if (column != null) {
              s.setLong(i++, atSeconds);
            }
            s.setString(i++, batchId);
            s.setString(i, from.wireName());
            return s.executeUpdate() == 1;
          }
        });
  }

  @Override
  public boolean finish(
      String batchId,
      BatchStatus to,
      @Nullable FileRecord output,
      @Nullable FileRecord errors,
      long atSeconds) {
    String column = eventColumn(to);
    if (column == null || !to.terminal()) {
      throw new IllegalArgumentException("a batch cannot finish as " + to.wireName());
    }
    return writer.write(
        "finishing the batch " + batchId,
        c -> {
          if (!BatchStatus.FINALIZING.equals(statusOf(c, batchId))) {
            return false;
          }
          if (output != null) {
            upsertFile(c, output);
          }
          if (errors != null) {
            upsertFile(c, errors);
          }
          try (PreparedStatement s =
              c.prepareStatement(
                  "UPDATE batches SET status = ?, "
                      + column
                      + " = ?, output_file_id = ?, error_file_id = ? WHERE id = ?")) {
            s.setString(1, to.wireName());
            s.setLong(2, atSeconds);
            setNullable(s, 3, output == null ? null : output.id());
            setNullable(s, 4, errors == null ? null : errors.id());
            s.setString(5, batchId);
            s.executeUpdate();
          }
          return true;
        });
  }

  private static @Nullable String eventColumn(BatchStatus status) {
    return switch (status) {
      case VALIDATING -> null;
      case IN_PROGRESS -> "in_progress_at";
      case FINALIZING -> "finalizing_at";
      case COMPLETED -> "completed_at";
      case FAILED -> "failed_at";
      case EXPIRED -> "expired_at";
      case CANCELLING -> "cancelling_at";
      case CANCELLED -> "cancelled_at";
    };
  }

  /**
   * The batch's status, its row locked until the transaction ends on PostgreSQL: a conditional
   * change (start, finish) that reads it is then the only one that can act on what it read.
   */
  private @Nullable BatchStatus statusOf(Connection c, String batchId) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT status FROM batches WHERE id = ?" + writer.dialect().forUpdate())) {
      s.setString(1, batchId);
      try (ResultSet r = s.executeQuery()) {
        return r.next() ? BatchStatus.fromWire(r.getString(1)) : null;
      }
    }
  }

  private static BatchRecord batchOf(ResultSet r) throws SQLException {
    int pending = r.getInt(21);
    int claimed = r.getInt(22);
    int done = r.getInt(23);
    int failed = r.getInt(24);
    return new BatchRecord(
        r.getString(1),
        r.getString(2),
        r.getString(3),
        r.getString(4),
        r.getString(5),
        r.getString(6),
        BatchStatus.fromWire(r.getString(7)),
        parse(r.getString(8), METADATA),
        parse(r.getString(9), ERRORS),
        r.getString(10),
        r.getString(11),
        r.getLong(12),
        r.getLong(13),
        r.getLong(14),
        r.getLong(15),
        r.getLong(16),
        r.getLong(17),
        r.getLong(18),
        r.getLong(19),
        r.getLong(20),
        pending + claimed + done + failed,
        done,
        failed,
        r.getLong(25),
        r.getLong(26),
        r.getLong(27),
        r.getLong(28));
  }

  // ---- lines ----

  @Override
  public List<BatchLine> claim(
      String batchId, int max, long nowMillis, long claimUntilMillis, String claimToken) {
    if (max <= 0) {
      return List.of();
    }
    return writer.write(
        "claiming lines of the batch " + batchId,
        c -> {
          // Two index range scans (pending from the lowest index, expired claims), merged.
          List<BatchLine> pending =
              lines(
                  c,
                  "SELECT "
                      + LINE_COLUMNS
                      + " FROM batch_lines WHERE batch_id = ? AND state = 'pending' AND"
                      + " not_before <= ? ORDER BY line_index LIMIT ?"
                      + skipLocked(),
                  batchId,
                  nowMillis,
                  max);
          List<BatchLine> expired =
              lines(
                  c,
                  "SELECT "
                      + LINE_COLUMNS
                      + " FROM batch_lines WHERE batch_id = ? AND state = 'claimed' AND"
                      + " claim_until <= ? ORDER BY line_index LIMIT ?"
                      + skipLocked(),
                  batchId,
                  nowMillis,
                  max);
          List<BatchLine> taken = new ArrayList<>(Math.min(max, pending.size() + expired.size()));
          int p = 0;
          int e = 0;
          int fromPending = 0;
          while (taken.size() < max && (p < pending.size() || e < expired.size())) {
            boolean takePending =
                e >= expired.size()
                    || (p < pending.size() && pending.get(p).index() < expired.get(e).index());
            BatchLine line = takePending ? pending.get(p++) : expired.get(e++);
            if (takePending) {
              fromPending++;
            }
            taken.add(
                new BatchLine(line.index(), line.customId(), line.body(), line.attempts() + 1));
          }
          if (taken.isEmpty()) {
            return List.<BatchLine>of();
          }
          try (PreparedStatement s =
              c.prepareStatement(
                  "UPDATE batch_lines SET state = 'claimed', claim_token = ?, claim_until = ?,"
                      + " attempts = attempts + 1 WHERE batch_id = ? AND line_index = ?")) {
            for (BatchLine line : taken) {
              s.setString(1, claimToken);
              s.setLong(2, claimUntilMillis);
              s.setString(3, batchId);
              s.setInt(4, line.index());
              s.addBatch();
            }
            s.executeBatch();
          }
          addCounts(c, batchId, -fromPending, fromPending, 0, 0);
          return taken;
        });
  }

  /**
   * On PostgreSQL, what makes a claim safe between instances: the lines read are locked, and lines
   * another instance's claim is locking right now are skipped rather than waited for (it takes
   * them; this one takes the next ones). Locked rows are re-checked against the query's condition
   * after a concurrent commit, so a line just claimed elsewhere is not taken twice.
   */
  private String skipLocked() {
    return writer.dialect() == SqlDatabase.Dialect.POSTGRES ? " FOR UPDATE SKIP LOCKED" : "";
  }

  private static List<BatchLine> lines(
      Connection c, String sql, String batchId, long nowMillis, int limit) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, batchId);
      s.setLong(2, nowMillis);
      s.setInt(3, limit);
      return rows(s, r -> new BatchLine(r.getInt(1), r.getString(2), r.getString(3), r.getInt(4)));
    }
  }

  @Override
  public boolean complete(String batchId, int index, String claimToken, LineResult result) {
    return writer.write(
        "storing the result of line " + index + " of the batch " + batchId,
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "UPDATE batch_lines SET state = ?, result = ?, claim_token = NULL, input_tokens"
                      + " = ?, cached_tokens = ?, output_tokens = ?, reasoning_tokens = ? WHERE"
                      + " batch_id = ? AND line_index = ? AND state = 'claimed' AND claim_token ="
                      + " ?")) {
            s.setString(1, (result.failed() ? LineState.FAILED : LineState.DONE).wireName());
            s.setString(2, result.json());
            s.setLong(3, result.inputTokens());
            s.setLong(4, result.cachedTokens());
            s.setLong(5, result.outputTokens());
            s.setLong(6, result.reasoningTokens());
            s.setString(7, batchId);
            s.setInt(8, index);
            s.setString(9, claimToken);
            if (s.executeUpdate() != 1) {
              return false;
            }
          }
          try (PreparedStatement s =
              c.prepareStatement(
                  "UPDATE batches SET n_claimed = n_claimed - 1, n_done = n_done + ?, n_failed ="
                      + " n_failed + ?, input_tokens = input_tokens + ?, cached_tokens ="
                      + " cached_tokens + ?, output_tokens = output_tokens + ?, reasoning_tokens"
                      + " = reasoning_tokens + ? WHERE id = ?")) {
            s.setInt(1, result.failed() ? 0 : 1);
            s.setInt(2, result.failed() ? 1 : 0);
            s.setLong(3, result.inputTokens());
            s.setLong(4, result.cachedTokens());
            s.setLong(5, result.outputTokens());
            s.setLong(6, result.reasoningTokens());
            s.setString(7, batchId);
            s.executeUpdate();
          }
          return true;
        });
  }

  @Override
  public boolean release(String batchId, int index, String claimToken, long notBeforeMillis) {
    return writer.write(
        "releasing line " + index + " of the batch " + batchId,
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "UPDATE batch_lines SET state = 'pending', claim_token = NULL, not_before = ?"
                      + " WHERE batch_id = ? AND line_index = ? AND state = 'claimed' AND"
                      + " claim_token = ?")) {
            s.setLong(1, notBeforeMillis);
            s.setString(2, batchId);
            s.setInt(3, index);
            s.setString(4, claimToken);
            if (s.executeUpdate() != 1) {
              return false;
            }
          }
          addCounts(c, batchId, 1, -1, 0, 0);
          return true;
        });
  }

  @Override
  public int releaseAllClaims() {
    return writer.write(
        "releasing every claimed line",
        c -> {
          Map<String, Integer> perBatch = new LinkedHashMap<>();
          try (PreparedStatement s =
                  c.prepareStatement(
                      "SELECT batch_id, COUNT(*) FROM batch_lines WHERE state = 'claimed' GROUP BY"
                          + " batch_id");
              ResultSet r = s.executeQuery()) {
            while (r.next()) {
              perBatch.put(r.getString(1), r.getInt(2));
            }
          }
          int total = 0;
          for (Map.Entry<String, Integer> e : perBatch.entrySet()) {
            try (PreparedStatement s =
                c.prepareStatement(
                    "UPDATE batch_lines SET state = 'pending', claim_token = NULL WHERE batch_id ="
                        + " ? AND state = 'claimed'")) {
              s.setString(1, e.getKey());
              // What the update changed, not what was counted: on PostgreSQL a line may have been
              // completed between the two statements.
              int released = s.executeUpdate();
              addCounts(c, e.getKey(), released, -released, 0, 0);
              total += released;
            }
          }
          return total;
        });
  }

  @Override
  public int failPending(String batchId, Function<BatchLine, String> errorFor) {
    return writer.write(
        "failing the pending lines of the batch " + batchId,
        c -> {
          List<BatchLine> pending =
              lines(
                  c,
                  // The bodies are not read (up to 200 MB): an error line does not quote them.
                  "SELECT line_index, custom_id, '', attempts FROM batch_lines WHERE batch_id = ?"
                      + " AND state = 'pending' AND not_before > ? ORDER BY line_index LIMIT ?"
                      + writer.dialect().forUpdate(),
                  batchId,
                  Long.MIN_VALUE,
                  Integer.MAX_VALUE);
          if (pending.isEmpty()) {
            return 0;
          }
          try (PreparedStatement s =
              c.prepareStatement(
                  "UPDATE batch_lines SET state = 'failed', result = ? WHERE batch_id = ? AND"
                      + " line_index = ? AND state = 'pending'")) {
            int n = 0;
            for (BatchLine line : pending) {
              s.setString(1, errorFor.apply(line));
              s.setString(2, batchId);
              s.setInt(3, line.index());
              s.addBatch();
              if (++n % 500 == 0) {
                s.executeBatch();
              }
            }
            s.executeBatch();
          }
          addCounts(c, batchId, -pending.size(), 0, 0, pending.size());
          return pending.size();
        });
  }

  @Override
  public LineCounts counts(String batchId) {
    return reader.read(
        "counting the lines of the batch " + batchId,
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT n_pending, n_claimed, n_done, n_failed FROM batches WHERE id = ?")) {
            s.setString(1, batchId);
            try (ResultSet r = s.executeQuery()) {
              return r.next()
                  ? new LineCounts(r.getInt(1), r.getInt(2), r.getInt(3), r.getInt(4))
                  : new LineCounts(0, 0, 0, 0);
            }
          }
        });
  }

  @Override
  public void results(String batchId, boolean failed, Consumer<String> sink) {
    reader.read(
        "reading the results of the batch " + batchId,
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT result FROM batch_lines WHERE batch_id = ? AND state = ? ORDER BY"
                      + " line_index")) {
            s.setString(1, batchId);
            s.setString(2, (failed ? LineState.FAILED : LineState.DONE).wireName());
            s.setFetchSize(500);
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                String result = r.getString(1);
                if (result != null) {
                  sink.accept(result);
                }
              }
            }
          }
          return null;
        });
  }

  private static void addCounts(
      Connection c, String batchId, int pending, int claimed, int done, int failed)
      throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "UPDATE batches SET n_pending = n_pending + ?, n_claimed = n_claimed + ?, n_done ="
                + " n_done + ?, n_failed = n_failed + ? WHERE id = ?")) {
      s.setInt(1, pending);
      s.setInt(2, claimed);
      s.setInt(3, done);
      s.setInt(4, failed);
      s.setString(5, batchId);
      s.executeUpdate();
    }
  }

  // ---- helpers ----

  private static void setNullable(PreparedStatement s, int index, @Nullable String value)
      throws SQLException {
    if (value == null) {
      s.setNull(index, Types.VARCHAR);
    } else {
      s.setString(index, value);
    }
  }

  private static String json(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + value.getClass().getSimpleName(), e);
    }
  }

  private static <T> T parse(String json, TypeReference<T> type) {
    try {
      return JSON.readValue(json, type);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a stored JSON column cannot be read: " + e.getMessage(), e);
    }
  }
}
