-- dsr's records on PostgreSQL, migration 1: the store's settings and the audit trail.
-- {schema} is the schema of dsr's records (`dsr` by default). The tables follow schema.sql's
-- (SQLite) with PostgreSQL's types: booleans as boolean, times as RFC 3339 UTC text as in
-- SQLite (they sort as text, and the audit chain hashes them as written).

-- Per-store settings: 'audit-head' holds the last entry's number and hash (`N:HASH`).
CREATE TABLE {schema}.store_meta (
    key     text PRIMARY KEY,
    value   text NOT NULL
);

-- The audit trail: append-only and hash-chained (src/audit.rs). One writer at a time appends:
-- the 'audit-head' row of store_meta is locked (SELECT ... FOR UPDATE) for the length of the
-- transaction that appends, so the next number and the previous hash are read under the lock.
CREATE TABLE {schema}.audit_log (
    id                  bigint PRIMARY KEY,
    at                  text NOT NULL,
    clock_injected      boolean NOT NULL,
    actor               text NOT NULL,
    request_id          text,
    subject_pseudonym   text,
    action              text NOT NULL,
    details             text NOT NULL,
    prev_hash           text NOT NULL,
    hash                text NOT NULL
);
CREATE INDEX audit_log_request ON {schema}.audit_log (request_id);

INSERT INTO {schema}.store_meta (key, value)
VALUES ('audit-head', '0:0000000000000000000000000000000000000000000000000000000000000000');
