-- Version 13 (SQLite migration 28): a lifted restriction gives the systems that keep copies a
-- task of its own (action `lift`).
ALTER TABLE {schema}."task"
    DROP CONSTRAINT task_action_check,
    ADD CONSTRAINT task_action_check CHECK (action IN ('rectify', 'erase', 'restrict', 'object', 'lift'));
