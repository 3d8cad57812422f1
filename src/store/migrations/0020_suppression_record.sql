-- Migration 20: an erased person's row of the data map's root goes on the suppression list by its
-- source key (kind `record`: a keyed hash of `TABLE:KEY`, the root's `[table.import] key`, else
-- its key), so that a copy from a source that carries no identifier (the webshop's export of its
-- people table) does not bring the person back (docs/import.md).
--
-- The suppression table's check of the kinds is widened by editing the table's stored definition
-- (store/migrate.rs, before this file runs), as migration 19 did for the request table: no stored
-- row can break it. Nothing else changes.
SELECT 1;
