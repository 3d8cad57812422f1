-- Migration 4: Art. 19 follows the data (issue 12).
--
-- 1. recipient.received_via gains 'dunning-step': the recipient gets a person's data when one of
--    their invoices reaches the automated decision's `collection` step (the collection agency).
--    SQLite cannot alter a CHECK, so the table is rebuilt under its own name. PRAGMA foreign_keys
--    cannot change inside the migration's transaction, so the foreign keys that point at
--    recipient (payment_method, domain, disclosure, recipient_category, notification) are
--    deferred: dropping the table counts their rows as violations, and putting every row back
--    (same code, same rowid, so the register keeps its order) counts them off again. A row
--    lost on the way would fail the commit, and the store would stay at the old version.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE recipient_0004 AS SELECT rowid AS rid, * FROM recipient;
DROP TABLE recipient;
CREATE TABLE recipient (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('processor', 'controller', 'authority', 'registry', 'group-company')),
    country       TEXT NOT NULL,                -- ISO 3166-1 alpha-2
    outside_eea   INTEGER NOT NULL CHECK (outside_eea IN (0, 1)),
    safeguards_en TEXT NOT NULL,                -- Art. 46 / Art. 45 basis for a transfer, or 'within the EU'
    safeguards_nl TEXT NOT NULL,
    received_via  TEXT NOT NULL CHECK (received_via IN ('payment-method', 'domain', 'disclosure', 'consent', 'purpose', 'dunning-step')),
    purpose       TEXT REFERENCES purpose(code),
    description_en TEXT NOT NULL,
    description_nl TEXT NOT NULL,
    CHECK ((received_via IN ('consent', 'purpose')) = (purpose IS NOT NULL))
) STRICT;
INSERT INTO recipient (rowid, code, name, kind, country, outside_eea, safeguards_en, safeguards_nl, received_via, purpose, description_en, description_nl)
    SELECT rid, code, name, kind, country, outside_eea, safeguards_en, safeguards_nl, received_via, purpose, description_en, description_nl
    FROM temp.recipient_0004 ORDER BY rid;
DROP TABLE temp.recipient_0004;

-- 2. notification: one row per thing to tell a recipient, so that a request can list a recipient
--    twice (a restriction, and later its lifting), with when it was listed and the proof that it
--    was done: a reference, or the reason telling was impossible or would take disproportionate
--    effort (Art. 19, first sentence). Nothing points at notification, so it is simply rebuilt.
CREATE TEMP TABLE notification_0004 AS SELECT * FROM notification;
DROP TABLE notification;
CREATE TABLE notification (
    id            INTEGER PRIMARY KEY,
    request_id    TEXT NOT NULL REFERENCES request(id),
    recipient     TEXT NOT NULL REFERENCES recipient(code),
    what          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('to-notify', 'notified', 'impossible')),
    listed_at     TEXT,                         -- NULL for rows listed before migration 6
    notified_at   TEXT,                         -- when it was done, or found impossible
    notified_by   TEXT,
    reference     TEXT,                         -- proof: the recipient's ticket, a letter, a mail id
    reason        TEXT,                         -- why telling is impossible or disproportionate
    UNIQUE (request_id, recipient, what),
    CHECK (state <> 'impossible' OR reason IS NOT NULL)
) STRICT;
INSERT INTO notification (request_id, recipient, what, state, notified_at, notified_by)
    SELECT request_id, recipient, what, state, notified_at, notified_by FROM temp.notification_0004;
DROP TABLE temp.notification_0004;
CREATE INDEX notification_state ON notification(state);
CREATE INDEX notification_recipient ON notification(recipient);

PRAGMA defer_foreign_keys = OFF;
