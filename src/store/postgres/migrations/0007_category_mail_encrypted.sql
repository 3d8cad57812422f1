-- Version 7 (SQLite migration 21): a register category says whether its data goes by mail only
-- encrypted; a store keeps what the codes `payment` and `applications` meant until now.
ALTER TABLE {schema}."category"
    ADD COLUMN "mail_encrypted" bigint NOT NULL DEFAULT 0 CHECK (mail_encrypted IN (0, 1));
UPDATE {schema}."category" SET "mail_encrypted" = 1 WHERE "code" IN ('payment', 'applications');
