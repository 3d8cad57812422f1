-- Migration 16: the privacy mailbox (design §12, docs/intake.md).
--
-- One row per message `dsr intake` read, found again by the SHA-256 of its bytes or by its
-- Message-ID, so that a message read twice opens nothing new. `outcome` is what came of it:
-- a request opened or verified, or a message left for the officer (`code-refused`: a reply
-- whose code did not verify; `needs-review`: it asks for a right but not clearly which; `listed`: it asks for nothing,
-- e.g. an out-of-office reply, a bounce or spam; `unreadable`: not a mail message) until the
-- officer resolves it. The sender, subject and text are kept only while the officer must read
-- them (emptied on resolve, and never kept for a message that opened or verified a request:
-- the request holds what it needs, and an erasure must not find the address here).
CREATE TABLE intake_message (
    id           INTEGER PRIMARY KEY,
    sha256       TEXT NOT NULL UNIQUE,
    message_id   TEXT,
    sent_at      TEXT,                       -- the message's Date, UTC (NULL when it has none)
    read_at      TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('opened', 'verified', 'code-refused', 'needs-review', 'listed', 'unreadable', 'resolved')),
    reason       TEXT,                       -- why it is left for the officer, or why a code was refused
    asks         TEXT,                       -- the right(s) it asks for, comma-separated
    request_id   TEXT REFERENCES request(id),
    sender       TEXT,
    subject      TEXT,
    excerpt      TEXT,
    resolved_at  TEXT,
    resolution   TEXT
) STRICT;
CREATE INDEX intake_message_id ON intake_message (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX intake_waiting ON intake_message (outcome, id) WHERE outcome IN ('needs-review', 'code-refused', 'listed', 'unreadable');
CREATE INDEX intake_request ON intake_message (request_id) WHERE request_id IS NOT NULL;
