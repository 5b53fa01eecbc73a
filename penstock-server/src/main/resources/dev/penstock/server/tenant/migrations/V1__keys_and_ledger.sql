-- V1: virtual keys, the usage ledger and its daily rollup (SPEC 8).
--
-- Written for SQLite and meant to run on PostgreSQL too (cluster mode): BIGINT for milliseconds and
-- token counts (PostgreSQL's INTEGER is 32 bits), DOUBLE PRECISION for dollars (its REAL is 32
-- bits), TEXT holding JSON. The one SQLite-only spelling is ledger.id: INTEGER PRIMARY KEY is
-- SQLite's rowid, numbered by the database; PostgreSQL needs BIGINT GENERATED ALWAYS AS IDENTITY.
-- Times are epoch milliseconds, UTC. Statements end with a semicolon at the end of a line, and no
-- comment or literal holds one (Migrations splits on them).

CREATE TABLE virtual_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  suffix TEXT NOT NULL,
  models TEXT NOT NULL,                  -- JSON array of public model names; [] = all
  rpm BIGINT NOT NULL,                   -- 0 = no limit
  tpm BIGINT NOT NULL,                   -- 0 = no limit
  max_priority TEXT NOT NULL,
  budget_usd_daily DOUBLE PRECISION NOT NULL,    -- 0 = no budget
  budget_usd_monthly DOUBLE PRECISION NOT NULL,  -- 0 = no budget
  expires_at BIGINT,                     -- null = never
  metadata TEXT NOT NULL,                -- JSON object of strings
  created_at BIGINT NOT NULL,
  revoked_at BIGINT                      -- null = live
);

-- One row per request, appended in groups, never updated. No foreign key to virtual_keys: open
-- mode writes key_id '' and the ledger must outlive any key.
CREATE TABLE ledger (
  id INTEGER PRIMARY KEY,
  time_ms BIGINT NOT NULL,
  request_id TEXT NOT NULL,
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,
  deployment TEXT NOT NULL,
  priority TEXT NOT NULL,
  status INTEGER NOT NULL,
  input_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cost_usd DOUBLE PRECISION NOT NULL,
  queue_ms BIGINT NOT NULL,
  latency_ms BIGINT NOT NULL,
  attempts INTEGER NOT NULL,
  cache TEXT NOT NULL
);

-- Reports read raw rows only for the partial days at the edges of their range.
CREATE INDEX ledger_time_ms ON ledger (time_ms);

-- The ledger summed per UTC day, key, model and deployment, updated in the transaction that
-- appends the rows: reports over whole days read this instead of every request.
CREATE TABLE usage_daily (
  day TEXT NOT NULL,                     -- yyyy-MM-dd, UTC
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,
  deployment TEXT NOT NULL,
  requests BIGINT NOT NULL,
  input_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cost_usd DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (day, key_id, model, deployment)
);
