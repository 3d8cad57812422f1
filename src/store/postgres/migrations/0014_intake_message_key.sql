-- Version 14 (SQLite migration 29): a message read by `dsr intake` keeps a keyed hash of its
-- Message-ID; an erasure clears the Message-ID and the key still tells the message read again.
ALTER TABLE {schema}."intake_message" ADD COLUMN "message_key" text COLLATE "C";
CREATE INDEX "intake_message_key" ON {schema}."intake_message" ("message_key") WHERE "message_key" IS NOT NULL;
