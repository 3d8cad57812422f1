-- Migration 18: indexes and a tally for `dsr report` (GDPR Art. 5(2), docs/report.md), so that a year of a
-- million requests is read in one pass over an index and the audit trail's few events of
-- interest without a scan of the whole trail.
--
-- request_report: every column the report reads from a request, led by the received date that
-- selects the period; the third key is the answer's date (the delivery, or the closing of a
-- completed or refused request), so that the report's GROUP BY (received_on, kind, answer date,
-- state, refusal ground, deadlines) streams along the index without a sort.
CREATE INDEX request_report ON request(
    received_on, kind,
    substr(CASE WHEN state IN ('completed', 'rejected') THEN coalesce(delivered_at, closed_at) ELSE delivered_at END, 1, 10),
    state, rejection_reason, due_on, extended_due_on, channel, delivered_at, closed_at);
-- The retention runs' entries, and the code checks that failed (a correct code is written as
-- exactly this document by verify.rs; the report counts only the others).
CREATE INDEX audit_log_retention ON audit_log(at) WHERE action IN ('retention', 'retention-interrupted');
CREATE INDEX audit_log_code_failed ON audit_log(at) WHERE action = 'code-tried' AND details <> '{"result":"correct"}';
-- Art. 19 notifications by recipient and state, then the time they were listed: the report's
-- GROUP BY reads along it without a sort.
CREATE INDEX notification_listed ON notification(recipient, state, listed_at) WHERE listed_at IS NOT NULL;

-- What erasures kept and why (Art. 17(3)), tallied as each erasure is carried out: per day the
-- request was received, per ground, table and action (delete, detach, keep), the rows and the
-- number of erasures with such a step. No personal data; the report reads it instead of
-- parsing every erasure's outcome. Filled here from the outcomes already stored.
CREATE TABLE erasure_tally (
    received_on  TEXT NOT NULL,
    ground       TEXT NOT NULL,              -- '' for a step without one (a deletion)
    table_name   TEXT NOT NULL,
    action       TEXT NOT NULL,
    row_count    INTEGER NOT NULL,
    erasures     INTEGER NOT NULL,
    PRIMARY KEY (received_on, ground, table_name, action)
) STRICT, WITHOUT ROWID;
INSERT INTO erasure_tally (received_on, ground, table_name, action, row_count, erasures)
SELECT r.received_on, coalesce(json_extract(s.value, '$.ground'), ''), coalesce(json_extract(s.value, '$.table'), ''),
       coalesce(json_extract(s.value, '$.action'), ''), coalesce(sum(json_extract(s.value, '$.rows')), 0), count(DISTINCT r.id)
FROM request r, json_each(r.outcome, '$.steps') s
WHERE r.kind = 'erase' AND r.outcome IS NOT NULL AND json_valid(r.outcome)
GROUP BY 1, 2, 3, 4;
