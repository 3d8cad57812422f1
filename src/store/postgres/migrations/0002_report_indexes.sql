-- Migration 2 (SQLite migration 18): indexes for `dsr report` (GDPR Art. 5(2), docs/report.md), so that a year of a
-- million requests is read in one pass over an index and the audit trail's few events of
-- interest without a scan of the whole trail.
--
-- request_report: every column the report reads from a request, led by the received date that
-- selects the period; the third key is the answer's date (the delivery, or the closing of a
-- completed or refused request), so that the report's GROUP BY (received_on, kind, answer date)
-- streams along the index without a sort.
CREATE INDEX request_report ON {schema}."request" (
    received_on, kind,
    substr(CASE WHEN state IN ('completed', 'rejected') THEN coalesce(delivered_at, closed_at) ELSE delivered_at END, 1, 10),
    channel, state, due_on, extended_due_on, rejection_reason, delivered_at, closed_at);
-- The retention runs' entries, and the code checks that failed (a correct code is written as
-- exactly this document by verify.rs; the report counts only the others).
CREATE INDEX audit_log_retention ON {schema}."audit_log" (at) WHERE action IN ('retention', 'retention-interrupted');
CREATE INDEX audit_log_code_failed ON {schema}."audit_log" (at) WHERE action = 'code-tried' AND details <> '{"result":"correct"}';
-- Art. 19 notifications by the time they were listed.
CREATE INDEX notification_listed ON {schema}."notification" (listed_at, recipient, state) WHERE listed_at IS NOT NULL;
