-- Migration 30: an erased person's IP addresses go on the suppression list (kind `ip`: a keyed
-- hash of the address), those that the lines of an `anonymous-by-ip` table reaching no one were
-- matched on, so that a server log exported again from its source does not bring back the lines
-- the erasure removed (docs/import.md), and `dsr erase --replay` and `dsr doctor` find them.
--
-- The suppression table's check of the kinds is widened by editing the table's stored definition
-- (store/migrate.rs, before this file runs), as migration 20 did: no stored row can break it.
-- Nothing else changes.
SELECT 1;
