-- V3 on PostgreSQL: the Files and Batches API as SQLite's V3 (../V3__batches.sql), with sequences
-- for seq, and the files' bytes in file_chunks (every instance reads every file, with no shared
-- volume: docs/postgres.md). Times as in SQLite's V3.

-- seq orders lists newest first (ids are random): from a sequence here, since several instances
-- insert at once (SQLite's store takes MAX(seq) + 1 in its one write transaction). A deleted file
-- keeps its row (deleted = 1), so a list cursor naming it still works, and never shows again.
CREATE SEQUENCE files_seq;

CREATE TABLE files (
  id TEXT PRIMARY KEY,
  seq BIGINT NOT NULL UNIQUE,
  owner_key_id TEXT,                     -- null = open mode
  filename TEXT NOT NULL,
  purpose TEXT NOT NULL,                 -- batch, batch_output
  bytes BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0
);

-- The counts of the lines per state and the usage summed over the answered ones are kept here,
-- updated in the transactions that change the lines, so that reading a batch is one row however
-- many lines it has (clients poll it every second).
CREATE SEQUENCE batches_seq;

CREATE TABLE batches (
  id TEXT PRIMARY KEY,
  seq BIGINT NOT NULL UNIQUE,
  owner_key_id TEXT,                     -- null = open mode
  endpoint TEXT NOT NULL,
  model TEXT NOT NULL,                   -- '' until validated
  input_file_id TEXT NOT NULL,
  completion_window TEXT NOT NULL,
  status TEXT NOT NULL,
  metadata TEXT NOT NULL,                -- JSON object of strings
  errors TEXT NOT NULL,                  -- JSON array of {code, message, param, line}
  output_file_id TEXT,
  error_file_id TEXT,
  created_at BIGINT NOT NULL,
  in_progress_at BIGINT NOT NULL,        -- 0 = not yet (as every event's time)
  expires_at BIGINT NOT NULL,
  finalizing_at BIGINT NOT NULL,
  completed_at BIGINT NOT NULL,
  failed_at BIGINT NOT NULL,
  expired_at BIGINT NOT NULL,
  cancelling_at BIGINT NOT NULL,
  cancelled_at BIGINT NOT NULL,
  n_pending INTEGER NOT NULL,
  n_claimed INTEGER NOT NULL,
  n_done INTEGER NOT NULL,
  n_failed INTEGER NOT NULL,
  input_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  reasoning_tokens BIGINT NOT NULL
);

CREATE INDEX batches_status ON batches (status);

-- One row per input line: state pending, claimed (until claim_until, by claim_token), done or
-- failed (result holds the output or error line).
CREATE TABLE batch_lines (
  batch_id TEXT NOT NULL,
  line_index INTEGER NOT NULL,
  custom_id TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL,
  claim_token TEXT,
  claim_until BIGINT NOT NULL,
  not_before BIGINT NOT NULL,
  attempts INTEGER NOT NULL,
  result TEXT,
  input_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  reasoning_tokens BIGINT NOT NULL,
  PRIMARY KEY (batch_id, line_index)
);

-- Claiming reads a batch's pending (or claimed) lines lowest index first; results read its done
-- (or failed) ones in order.
CREATE INDEX batch_lines_state ON batch_lines (batch_id, state, line_index);

-- The bytes of stored files, in chunks of at most 1 MiB numbered from 0. A file is written in one
-- transaction (its row here and its chunks): readers see all of it or none. The files table holds
-- the metadata, as on SQLite; file_blobs says the bytes are there, and how many.
CREATE TABLE file_blobs (
  file_id TEXT PRIMARY KEY,
  bytes BIGINT NOT NULL,
  chunks INTEGER NOT NULL
);

CREATE TABLE file_chunks (
  file_id TEXT NOT NULL REFERENCES file_blobs (file_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (file_id, seq)
);
