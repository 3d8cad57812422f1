-- Version 12 (SQLite migration 27): a legal-claims restriction that kept some of a person's data
-- from their erasure names that erasure, which is finished when the restriction is lifted.
ALTER TABLE {schema}."restriction" ADD COLUMN "erasure_id" text COLLATE "C";
ALTER TABLE {schema}."restriction" ADD FOREIGN KEY ("erasure_id") REFERENCES {schema}."request" ("id") DEFERRABLE INITIALLY IMMEDIATE;
CREATE INDEX restriction_erasure ON {schema}."restriction" (erasure_id) WHERE erasure_id IS NOT NULL;
