-- Migration 28: a lifted restriction gives the systems that keep copies a task of its own
-- (action `lift`): a system that restricted the rows when told processes them again, and the
-- restriction's tasks still open are closed by the lift (tasks.rs).
--
-- The task table's check of the actions is widened by editing the table's stored definition
-- (store/migrate.rs, before this file runs), as migrations 19 and 20 did: no stored row can
-- break it. Nothing else changes.
SELECT 1;
