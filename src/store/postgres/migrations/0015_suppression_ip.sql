-- Version 15 (SQLite migration 30): an erased person's IP addresses on the suppression list
-- (kind `ip`).
ALTER TABLE {schema}."suppression"
    DROP CONSTRAINT suppression_kind_check,
    ADD CONSTRAINT suppression_kind_check CHECK (kind IN ('email', 'phone', 'customer', 'record', 'ip'));
