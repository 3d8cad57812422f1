-- Migration 3: side effects after the commit, delivery as a step of its own, approved erasure plans.
--
-- queued: every letter (and every file line) that reports a change is written here in the same
-- transaction as the change, and delivered after the commit by whichever dsr command runs next
-- (or `dsr mail flush`). A delivered item keeps its record (when, how, reference) but not its
-- content. kind 'mail': payload is an RFC 5322 message; kind 'journal': one line of the erasure
-- journal beside the store. delivers = 1: sending it delivers the answer of request_id.
CREATE TABLE queued (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('mail', 'journal')),
    request_id    TEXT REFERENCES request(id),
    letter        TEXT NOT NULL,                  -- what it is: verification-code, erasure, access-answer...
    payload       BLOB,                           -- NULL once delivered
    envelope      TEXT,                           -- mail: JSON [from, [to...]] for SMTP; NULL once delivered
    delivers      INTEGER NOT NULL DEFAULT 0 CHECK (delivers IN (0, 1)),
    queued_at     TEXT NOT NULL,
    done_at       TEXT,
    transport     TEXT,
    reference     TEXT,
    tries         INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    last_try_at   TEXT
) STRICT;
CREATE INDEX queued_pending ON queued(id) WHERE done_at IS NULL;
CREATE INDEX queued_request ON queued(request_id);

-- Between verified and completed: the answer is prepared (viewed, written, carried out), then
-- delivered (mailed to the address on file, or handed over another way and recorded).
ALTER TABLE request ADD COLUMN answered_at TEXT;
ALTER TABLE request ADD COLUMN delivered_at TEXT;
ALTER TABLE request ADD COLUMN delivery_channel TEXT CHECK (delivery_channel IS NULL OR delivery_channel IN ('email', 'post', 'in-person', 'portal'));
ALTER TABLE request ADD COLUMN delivery_ref TEXT;
UPDATE request SET answered_at = closed_at, delivered_at = closed_at WHERE state = 'completed';

-- An erasure plan runs from cron only once an officer approved it, and not while it is on hold
-- (the reasons for a hold are free text, kept with the audit trail's free texts).
ALTER TABLE erasure_plan ADD COLUMN approved_at TEXT;
ALTER TABLE erasure_plan ADD COLUMN approved_by TEXT;
ALTER TABLE erasure_plan ADD COLUMN held_at TEXT;
