-- Migration 6: free text out of the audit trail, and codes that stay expired.
-- free_text: what an officer typed about a request (reasons, notes, references). Audit entries
-- refer to a row by id with an HMAC of its text; erasing the person deletes the rows of their
-- requests, and the chain still verifies. Entries written before this migration keep their text.
CREATE TABLE free_text (
    id          INTEGER PRIMARY KEY,
    request_id  TEXT REFERENCES request(id) ON DELETE CASCADE,
    text        TEXT NOT NULL CHECK (length(text) <= 1000),
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX free_text_request ON free_text(request_id);

-- challenge.expired_at: when a code was first refused as expired. It stays expired even if the
-- clock is later set back before its expiry.
ALTER TABLE challenge ADD COLUMN expired_at TEXT;
