-- Version 11 (SQLite migration 26): a message read by `dsr intake` keeps a keyed hash of its
-- sender; the same Message-ID from another sender is another message.
ALTER TABLE {schema}."intake_message" ADD COLUMN "sender_key" text COLLATE "C";
