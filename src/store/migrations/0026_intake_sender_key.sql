-- Migration 26: a message read by `dsr intake` keeps a keyed hash of its sender (`sender_key`),
-- so that "the same message read again" needs the same Message-ID *and* the same sender: a
-- Message-ID is chosen by the sender's software (a web form may give every message the same one,
-- and anyone can copy one), and one person's message must never hide another's. NULL for a
-- message read before this migration: its Message-ID alone counts, as it did.
ALTER TABLE intake_message ADD COLUMN sender_key TEXT;
