-- Migration 4 (SQLite migration 18): indexes and a tally for `dsr report` (GDPR Art. 5(2), docs/report.md), so that a year of a
-- million requests is read in one pass over an index and the audit trail's few events of
-- interest without a scan of the whole trail.
--
-- request_report: every column the report reads from a request, led by the received date that
-- selects the period; the third key is the answer's date (the delivery, or the closing of a
-- completed or refused request), so that the report's GROUP BY (received_on, kind, answer date,
-- state, refusal ground, deadlines) streams along the index without a sort.
CREATE INDEX request_report ON {schema}."request" (
    received_on, kind,
    substr(CASE WHEN state IN ('completed', 'rejected') THEN coalesce(delivered_at, closed_at) ELSE delivered_at END, 1, 10),
    state, rejection_reason, due_on, extended_due_on, channel, delivered_at, closed_at);
-- The retention runs' entries, and the code checks that failed (a correct code is written as
-- exactly this document by verify.rs; the report counts only the others).
CREATE INDEX audit_log_retention ON {schema}."audit_log" (at) WHERE action IN ('retention', 'retention-interrupted');
CREATE INDEX audit_log_code_failed ON {schema}."audit_log" (at) WHERE action = 'code-tried' AND details <> '{"result":"correct"}';
-- Art. 19 notifications by the time they were listed.
CREATE INDEX notification_listed ON {schema}."notification" (recipient, state, listed_at) WHERE listed_at IS NOT NULL;

-- What erasures kept and why (Art. 17(3)), tallied as each erasure is carried out (see the
-- SQLite migration; the table as src/store/postgres/translate.rs translates SQLite's), filled from
-- the outcomes already stored.
CREATE TABLE {schema}."erasure_tally" (
    "received_on" text COLLATE "C",
    "ground" text COLLATE "C",
    "table_name" text COLLATE "C",
    "action" text COLLATE "C",
    "row_count" bigint NOT NULL,
    "erasures" bigint NOT NULL,
    PRIMARY KEY ("received_on", "ground", "table_name", "action")
);
INSERT INTO {schema}."erasure_tally" (received_on, ground, table_name, action, row_count, erasures)
SELECT r.received_on, coalesce(s.value ->> 'ground', ''), coalesce(s.value ->> 'table', ''), coalesce(s.value ->> 'action', ''),
       coalesce(sum(CAST(s.value ->> 'rows' AS bigint)), 0), count(DISTINCT r.id)
FROM {schema}."request" r CROSS JOIN LATERAL jsonb_array_elements(CAST(r.outcome AS jsonb) -> 'steps') AS s(value)
WHERE r.kind = 'erase' AND r.outcome IS NOT NULL
GROUP BY 1, 2, 3, 4;
