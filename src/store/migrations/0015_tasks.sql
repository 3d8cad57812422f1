-- Migration 15: tasks for the company's systems that keep their own copy (design §10).
--
-- `map_system` holds the company file's `[[system]]` entries; `map_option` its top-level
-- settings (`letter_after_tasks`). Every rectification, erasure, restriction and objection gives
-- each system that copies a table it touched one `task`, with the source keys of the rows (and
-- for a rectification the new values) in `rows` while it is open; acknowledging it sets
-- `done_at` and `done_ref` and empties `rows`. A queued letter can be `held` until its
-- request's tasks are done.
CREATE TABLE map_system (
    name   TEXT PRIMARY KEY,
    sort   INTEGER NOT NULL,
    spec   TEXT NOT NULL CHECK (json_valid(spec))
) STRICT;
CREATE TABLE map_option (
    one                 INTEGER PRIMARY KEY CHECK (one = 1),
    letter_after_tasks  INTEGER NOT NULL DEFAULT 0 CHECK (letter_after_tasks IN (0, 1))
) STRICT;
CREATE TABLE task (
    id          INTEGER PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES request(id),
    system      TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('rectify', 'erase', 'restrict', 'object')),
    created_at  TEXT NOT NULL,
    rows        TEXT CHECK (rows IS NULL OR json_valid(rows)),
    done_at     TEXT,
    done_ref    TEXT,
    CHECK ((done_at IS NULL) = (rows IS NOT NULL))
) STRICT;
CREATE INDEX task_open ON task (system, id) WHERE done_at IS NULL;
CREATE INDEX task_request ON task (request_id);
ALTER TABLE queued ADD COLUMN held INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1));
