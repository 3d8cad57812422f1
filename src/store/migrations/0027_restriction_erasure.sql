-- Migration 27: a legal-claims restriction that kept some of a person's data from their erasure
-- ("until the restriction is lifted", Art. 17(3)(e) with 18(1)(c)) names that erasure
-- (`erasure_id`), so that the erasure is finished when the last such restriction of the person
-- is lifted (rights/erase/finish.rs). NULL for every restriction before this migration: an
-- erasure carried out before it is finished by hand (`dsr erase` of a new request).
ALTER TABLE restriction ADD COLUMN erasure_id TEXT REFERENCES request(id);
CREATE INDEX restriction_erasure ON restriction(erasure_id) WHERE erasure_id IS NOT NULL;
