-- Version 6 (SQLite migration 20): an erased person's row of the data map's root goes on the
-- suppression list by its source key (kind `record`).
ALTER TABLE {schema}."suppression"
    DROP CONSTRAINT suppression_kind_check,
    ADD CONSTRAINT suppression_kind_check CHECK (kind IN ('email', 'phone', 'customer', 'record'));
