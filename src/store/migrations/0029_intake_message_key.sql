-- Migration 29: a message read by `dsr intake` keeps a keyed hash of its Message-ID
-- (`message_key`) beside the Message-ID itself. An erasure clears the Message-ID (it may carry
-- the sender's name or domain) and the key still tells the same message read again. NULL for a
-- message read before this migration: its Message-ID counts, as it did.
ALTER TABLE intake_message ADD COLUMN message_key TEXT;
CREATE INDEX intake_message_key ON intake_message (message_key) WHERE message_key IS NOT NULL;
