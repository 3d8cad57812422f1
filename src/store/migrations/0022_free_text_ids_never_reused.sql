-- Migration 22: a free text's id is never given again. Audit entries refer to a text by its id
-- (with a keyed hash of it); an erasure deletes the person's texts, and SQLite gave the highest
-- freed id to the next text, so an older entry then named another request's text (shown on the
-- erased person's history) and `audit verify` took it for an edit. AUTOINCREMENT numbers past
-- every id ever used; the counter starts past the ids of the table and of every audit entry.
CREATE TABLE free_text_next (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  TEXT REFERENCES request(id) ON DELETE CASCADE,
    text        TEXT NOT NULL CHECK (length(text) <= 1000),
    created_at  TEXT NOT NULL
) STRICT;
INSERT INTO free_text_next (id, request_id, text, created_at) SELECT id, request_id, text, created_at FROM free_text;
DROP TABLE free_text;
ALTER TABLE free_text_next RENAME TO free_text;
CREATE INDEX free_text_request ON free_text(request_id);
DELETE FROM sqlite_sequence WHERE name = 'free_text';
INSERT INTO sqlite_sequence (name, seq) SELECT 'free_text', max(coalesce((SELECT max(id) FROM free_text), 0), coalesce(
    (SELECT max(j.value) FROM audit_log a, json_tree(a.details) j
      WHERE j.key = 'free_text' AND j.type = 'integer' AND json_valid(a.details)), 0));
