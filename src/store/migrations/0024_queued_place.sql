-- Migration 24: where a queued journal line is written (`place`): on PostgreSQL the erasure
-- journal is a file in the directory of the command that erased, so its line is written by a dsr
-- process on the same machine in the same directory, never by another officer's or machine's.
-- NULL (a SQLite store, whose journal lies beside the store): any process writes it.
ALTER TABLE queued ADD COLUMN place TEXT;
