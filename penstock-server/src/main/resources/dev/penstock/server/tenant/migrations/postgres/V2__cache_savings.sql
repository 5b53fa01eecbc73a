-- V2 on PostgreSQL, the same statements as SQLite's: what a response-cache hit saved (issue 14), per ledger row: the tokens of the cached answer
-- and their price. A hit itself costs 0 and uses no tokens; these say what it would have cost.
-- Portable as V1 is: ADD COLUMN with a constant default works on SQLite and PostgreSQL alike.

ALTER TABLE ledger ADD COLUMN saved_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger ADD COLUMN saved_usd DOUBLE PRECISION NOT NULL DEFAULT 0;
