-- Migration 2: an erasure plan is carried out by `dsr erase --due` only once an officer has seen it.
-- A plan dsr had to make again because the data changed (reviewed_at NULL) waits for the officer.
-- Plans stored before this migration were all stored by an officer's command.
ALTER TABLE erasure_plan ADD COLUMN reviewed_at TEXT;
UPDATE erasure_plan SET reviewed_at = created_at;
