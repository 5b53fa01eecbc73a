-- V1 on PostgreSQL (cluster mode): virtual keys, the usage ledger and its daily rollup, as the
-- SQLite V1 (../V1__keys_and_ledger.sql) but for ledger.id, an identity column here, and the
-- table penstock_meta, PostgreSQL's only: values every instance must share, such as the key
-- hashing secret when PENSTOCK_KEY_SECRET is not set (docs/postgres.md). Statements end with a
-- semicolon at the end of a line, and no comment or literal holds one (Migrations splits on them).

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
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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

-- Values shared by every instance, written once (INSERT ... ON CONFLICT DO NOTHING) and read back.
CREATE TABLE penstock_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
