-- Migration 19: requests the officer must review first (issue 17, docs/intake.md).
--
-- A message read by `dsr intake` that asks for a right but not clearly which (or for one right
-- without the details it needs) opens a request in state `needs-review`, received on the
-- message's date: the month to answer runs from then, whatever the officer decides. Its kind
-- is the one right it asks, or `unclear` when it asks for several or none dsr can name. No code
-- goes out until the officer decides (`dsr RIGHT --review REQUEST`), which turns it into an
-- ordinary request awaiting verification.
--
-- The request table's two CHECK constraints that list the kinds and states are widened by
-- editing the table's stored definition (store/migrate.rs, before this file runs): the
-- documented way for a change that no stored row can break (sqlite.org/lang_altertable.html,
-- section 7). Here: the open requests' index counts the new state as open.
DROP INDEX IF EXISTS request_open_deadline;
CREATE INDEX request_open_deadline ON request (coalesce(extended_due_on, due_on), year, seq)
    WHERE state IN ('needs-review', 'awaiting-verification', 'verified');
