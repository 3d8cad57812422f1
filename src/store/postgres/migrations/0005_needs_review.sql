-- Version 5 (SQLite migration 19): requests the officer must review first. The kind may be
-- `unclear` and the state `needs-review`; the open requests' index counts that state as open.
ALTER TABLE {schema}."request"
    DROP CONSTRAINT request_kind_check,
    DROP CONSTRAINT request_state_check,
    ADD CONSTRAINT request_kind_check
        CHECK (kind IN ('access', 'export', 'rectify', 'erase', 'restrict', 'object', 'unclear')),
    ADD CONSTRAINT request_state_check
        CHECK (state IN ('needs-review', 'awaiting-verification', 'verified', 'completed', 'rejected', 'expired'));
DROP INDEX {schema}.request_open_deadline;
CREATE INDEX request_open_deadline ON {schema}."request" ((coalesce(extended_due_on, due_on)), year, seq)
    WHERE state IN ('needs-review', 'awaiting-verification', 'verified');
