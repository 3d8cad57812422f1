-- Version 9 (SQLite migration 24): where a queued journal line is written (the machine and the
-- journal's path); NULL: any process.
ALTER TABLE {schema}."queued" ADD COLUMN "place" text COLLATE "C";
